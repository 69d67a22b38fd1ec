import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { ApiClient, detectTransport, setClient } from './api/client.ts'
import { App, NoTransport } from './App.tsx'
import './styles.css'

const transport = detectTransport()
const root = createRoot(document.getElementById('root') as HTMLElement)
if (transport) {
  setClient(new ApiClient(transport))
  root.render(
    <StrictMode>
      <App />
    </StrictMode>,
  )
} else {
  root.render(<NoTransport />)
}
