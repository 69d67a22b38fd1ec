import { Component } from 'react'
import type { ErrorInfo, ReactNode } from 'react'

interface State {
  error?: Error
}

/** A screen that throws while rendering shows what failed and how to recover instead of a blank window. */
export class ErrorBoundary extends Component<{ children: ReactNode; name: string }, State> {
  state: State = {}

  static getDerivedStateFromError(error: Error): State {
    return { error }
  }

  componentDidCatch(error: Error, info: ErrorInfo): void {
    console.error(`${this.props.name} crashed`, error, info.componentStack)
  }

  render(): ReactNode {
    const { error } = this.state
    if (!error) return this.props.children
    return (
      <div className="app-error" role="alert" data-testid="screen-error">
        <h2>The {this.props.name} screen failed</h2>
        <p>{error.message}</p>
        <p className="muted">
          What to do: try again; if it keeps failing, reload the window (unsaved edits in the editor are kept until you reload) and report this as a bug.
        </p>
        <button className="primary" onClick={() => this.setState({ error: undefined })}>
          Try again
        </button>{' '}
        <button onClick={() => window.location.reload()}>Reload</button>
      </div>
    )
  }
}
