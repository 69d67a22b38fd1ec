/**
 * Environment tags (key/value metadata on the environment itself, not on a revision): list, add, edit
 * (click a tag), delete. Every change is one call (env.setTag / env.deleteTag) and is audited by the store.
 */
import { useCallback, useEffect, useState } from 'react'
import { api } from '../api/client.ts'
import { useApp } from '../stores/app.ts'
import { useEnvs } from '../stores/envs.ts'
import { notify, reportError } from '../stores/notices.ts'
import { ENV_TAG_KEY_MAX, ENV_TAG_VALUE_MAX } from '../../../shared/domain/names.ts'

export function EnvTags({ id }: { id: string }) {
  const [tags, setTags] = useState<Record<string, string>>({})
  const [key, setKey] = useState('')
  const [value, setValue] = useState('')

  const refresh = useCallback(async () => {
    try {
      setTags(await api().call('env.getTags', { id }))
    } catch (err) {
      reportError(`Loading the tags of ${id}`, err)
    }
  }, [id])

  useEffect(() => {
    setTags({})
    void refresh()
  }, [refresh])

  const change = async (what: string, fn: () => Promise<unknown>): Promise<boolean> => {
    try {
      await fn()
      await refresh()
      void useEnvs.getState().refresh()
      notify(what)
      return true
    } catch (err) {
      reportError(what, err)
      return false
    }
  }

  const add = async () => {
    const k = key.trim()
    if (!k) return
    if (await change(`Tagged ${id} with ${k}`, () => api().call('env.setTag', { id, key: k, value }))) {
      setKey('')
      setValue('')
    }
  }

  const edit = async (k: string) => {
    const { action, input } = await useApp.getState().ask({
      title: `Edit tag ${k}`,
      body: `The new value of ${k} on ${id}.`,
      input: { label: 'Value', value: tags[k] ?? '' },
      actions: [
        { label: 'Save', value: 'save' },
        { label: 'Cancel', value: 'cancel' },
      ],
    })
    if (action !== 'save' || input === undefined) return
    await change(`Set tag ${k} of ${id}`, () => api().call('env.setTag', { id, key: k, value: input }))
  }

  const entries = Object.entries(tags).sort(([a], [b]) => a.localeCompare(b))
  return (
    <div className="env-tags" data-testid="env-tags">
      <strong title="key/value metadata of the environment (not of a revision)">Environment tags</strong>
      {entries.length === 0 && <span className="muted">none</span>}
      {entries.map(([k, v]) => (
        <span key={k} className="tag" data-testid={`env-tag-${k}`}>
          <button className="link" title={`edit ${k}`} onClick={() => void edit(k)} data-testid={`env-tag-edit-${k}`}>
            {k}={v}
          </button>
          <button
            className="icon small"
            title={`remove tag ${k}`}
            onClick={() => void change(`Removed tag ${k} from ${id}`, () => api().call('env.deleteTag', { id, key: k }))}
            data-testid={`env-tag-delete-${k}`}
          >
            ✕
          </button>
        </span>
      ))}
      <form
        onSubmit={(e) => {
          e.preventDefault()
          void add()
        }}
        className="env-tag-add"
      >
        <input
          placeholder="key"
          value={key}
          onChange={(e) => setKey(e.target.value)}
          aria-label="tag key"
          data-testid="env-tag-key"
          maxLength={ENV_TAG_KEY_MAX}
        />
        <input
          placeholder="value"
          value={value}
          onChange={(e) => setValue(e.target.value)}
          aria-label="tag value"
          data-testid="env-tag-value"
          maxLength={ENV_TAG_VALUE_MAX}
        />
        <button type="submit" className="small" disabled={!key.trim()} data-testid="env-tag-add">
          Add tag
        </button>
      </form>
    </div>
  )
}
