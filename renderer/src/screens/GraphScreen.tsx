import { useEffect, useMemo, useState } from 'react'
import { Background, Controls, MarkerType, ReactFlow } from '@xyflow/react'
import type { Edge, Node } from '@xyflow/react'
import '@xyflow/react/dist/style.css'
import dagre from '@dagrejs/dagre'
import type { ImportGraph } from '../../../shared/ipc.ts'
import { api } from '../api/client.ts'
import { useEditor } from '../stores/editor.ts'
import { useApp } from '../stores/app.ts'
import { reportError } from '../stores/notices.ts'
import { openEnv } from '../actions.ts'

const nodeW = 190
const nodeH = 44

/** Nodes reachable from `start` following `next`. */
function reach(start: string, next: Map<string, string[]>): Set<string> {
  const seen = new Set<string>()
  const todo = [start]
  while (todo.length) {
    const n = todo.pop() as string
    for (const m of next.get(n) ?? []) {
      if (!seen.has(m)) {
        seen.add(m)
        todo.push(m)
      }
    }
  }
  seen.delete(start)
  return seen
}

export function layoutGraph(g: ImportGraph, selected: string | undefined): { nodes: Node[]; edges: Edge[] } {
  const dg = new dagre.graphlib.Graph()
  dg.setGraph({ rankdir: 'TB', nodesep: 30, ranksep: 70 })
  dg.setDefaultEdgeLabel(() => ({}))
  for (const n of g.nodes) dg.setNode(n.id, { width: nodeW, height: nodeH })
  // edges drawn from the imported environment down to its importer
  for (const e of g.edges) if (e.from !== e.to) dg.setEdge(e.to, e.from)
  dagre.layout(dg)

  const imports = new Map<string, string[]>()
  const importedBy = new Map<string, string[]>()
  for (const e of g.edges) {
    imports.set(e.from, [...(imports.get(e.from) ?? []), e.to])
    importedBy.set(e.to, [...(importedBy.get(e.to) ?? []), e.from])
  }
  const ancestors = selected ? reach(selected, imports) : new Set<string>()
  const descendants = selected ? reach(selected, importedBy) : new Set<string>()
  const inCycle = new Set(g.edges.filter((e) => e.cycle).flatMap((e) => [e.from, e.to]))

  const nodes: Node[] = g.nodes.map((n) => {
    const p = dg.node(n.id)
    const cls = [
      'gnode',
      n.id === selected ? 'selected-env' : '',
      ancestors.has(n.id) ? 'ancestor' : '',
      descendants.has(n.id) ? 'descendant' : '',
      !n.exists ? 'broken' : '',
      inCycle.has(n.id) ? 'cycle' : '',
      n.error ? 'broken' : '',
    ]
      .filter(Boolean)
      .join(' ')
    return {
      id: n.id,
      position: { x: (p?.x ?? 0) - nodeW / 2, y: (p?.y ?? 0) - nodeH / 2 },
      data: { label: n.exists ? n.id : `${n.id} (missing)` },
      className: cls,
      style: { width: nodeW },
      draggable: true,
    }
  })
  const edges: Edge[] = g.edges.map((e) => {
    const bad = e.broken || e.cycle
    const lit = selected !== undefined && (e.from === selected || ancestors.has(e.from)) && (e.to === selected || ancestors.has(e.to))
    const litDown = selected !== undefined && (e.to === selected || descendants.has(e.to)) && (e.from === selected || descendants.has(e.from))
    const color = bad ? '#e5484d' : lit ? '#3e63dd' : litDown ? '#30a46c' : '#8b8d98'
    return {
      id: `${e.from}->${e.to}`,
      source: e.to,
      target: e.from,
      label: e.broken ? 'broken' : e.cycle ? 'cycle' : e.raw !== e.to ? e.raw : undefined,
      className: bad ? 'gedge bad' : 'gedge',
      animated: lit || litDown,
      style: { stroke: color, strokeWidth: bad || lit || litDown ? 2.5 : 1.5 },
      markerEnd: { type: MarkerType.ArrowClosed, color },
      data: { from: e.from, to: e.to },
    }
  })
  return { nodes, edges }
}

export function GraphScreen() {
  const selected = useEditor((s) => s.id)
  const theme = useApp((s) => s.theme)
  const [graph, setGraph] = useState<ImportGraph | undefined>()

  useEffect(() => {
    api()
      .call('env.graph', {})
      .then(setGraph)
      .catch((err: unknown) => reportError('Building the import graph', err))
  }, [selected])

  const { nodes, edges } = useMemo(() => (graph ? layoutGraph(graph, selected) : { nodes: [], edges: [] }), [graph, selected])
  const problems = graph?.edges.filter((e) => e.broken || e.cycle) ?? []

  return (
    <div className="graph-screen">
      <div className="toolbar">
        <strong>Import graph</strong>
        <span className="legend">
          <span className="sw selected-env" /> selected <span className="sw ancestor" /> imports (ancestors) <span className="sw descendant" /> imported by
          (descendants)
          <span className="sw broken" /> broken / cycle
        </span>
        <span className="spacer" />
        <span className="muted" data-testid="graph-counts">
          {graph ? `${graph.nodes.length} environments, ${graph.edges.length} imports` : 'loading…'}
        </span>
      </div>
      {problems.length > 0 && (
        <ul className="problems" data-testid="graph-problems">
          {problems.map((e) => (
            <li key={`${e.from}->${e.to}`} className="error">
              {e.from} imports {e.raw}: {e.broken ? 'no such environment' : 'import cycle'}
            </li>
          ))}
        </ul>
      )}
      <div className="graph-host" data-testid="graph">
        <ReactFlow
          nodes={nodes}
          edges={edges}
          colorMode={theme}
          fitView
          fitViewOptions={{ maxZoom: 1.1, padding: 0.2 }}
          nodesConnectable={false}
          onNodeClick={(_, n) => {
            if (graph?.nodes.find((x) => x.id === n.id)?.exists) void openEnv(n.id).then(() => useApp.getState().setScreen('editor'))
          }}
          proOptions={{ hideAttribution: true }}
        >
          <Background />
          <Controls showInteractive={false} />
        </ReactFlow>
      </div>
    </div>
  )
}
