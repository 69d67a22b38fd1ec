/**
 * Three-way merge of YAML definitions, line based (diff3 style), for sync conflicts.
 *
 * Changes of the two sides relative to the common base are computed with `diff`; changes that touch disjoint
 * base regions merge cleanly, identical changes merge once, and changes that touch or overlap the same region
 * become a conflict block with git-style markers. Adjacent edits count as overlapping: conservative, so a merge
 * is never silently wrong. The result is only a proposal: the user always confirms it.
 */
import { createTwoFilesPatch, diffArrays } from 'diff'
import type { ThreeWayDiff } from '../../../shared/sync-ipc.ts'

interface Hunk {
  /** base lines [start, end) replaced by `lines` */
  start: number
  end: number
  lines: string[]
}

export type { ThreeWayDiff }

const splitLines = (s: string): string[] => (s === '' ? [] : s.replace(/\n$/, '').split('\n'))
const joinLines = (lines: string[], trailingNewline: boolean): string => (lines.length === 0 ? '' : lines.join('\n') + (trailingNewline ? '\n' : ''))

function hunks(base: string[], other: string[]): Hunk[] {
  const out: Hunk[] = []
  let i = 0
  let cur: Hunk | undefined
  for (const part of diffArrays(base, other)) {
    if (!part.added && !part.removed) {
      if (cur) out.push(cur)
      cur = undefined
      i += part.value.length
      continue
    }
    cur ??= { start: i, end: i, lines: [] }
    if (part.removed) {
      i += part.value.length
      cur.end = i
    } else {
      cur.lines.push(...part.value)
    }
  }
  if (cur) out.push(cur)
  return out
}

function applyWithin(base: string[], from: number, to: number, hs: Hunk[]): string[] {
  const out: string[] = []
  let i = from
  for (const h of hs) {
    out.push(...base.slice(i, h.start), ...h.lines)
    i = h.end
  }
  out.push(...base.slice(i, to))
  return out
}

export function threeWay(base: string, local: string, remote: string, labels = { local: 'local', remote: 'remote' }): ThreeWayDiff {
  const b = splitLines(base)
  const l = splitLines(local)
  const r = splitLines(remote)
  const lh = hunks(b, l)
  const rh = hunks(b, r)
  const out: string[] = []
  let conflicts = 0
  let pos = 0
  let li = 0
  let ri = 0
  while (li < lh.length || ri < rh.length) {
    const nextL = lh[li]
    const nextR = rh[ri]
    const first = !nextR || (nextL && nextL.start <= nextR.start) ? 'l' : 'r'
    const seed = first === 'l' ? nextL! : nextR!
    const groupL: Hunk[] = []
    const groupR: Hunk[] = []
    let start = seed.start
    let end = seed.end
    if (first === 'l') groupL.push(lh[li++]!)
    else groupR.push(rh[ri++]!)
    // grow the group while a hunk of either side touches it
    for (let grew = true; grew;) {
      grew = false
      while (li < lh.length && lh[li]!.start <= end) {
        const h = lh[li++]!
        groupL.push(h)
        start = Math.min(start, h.start)
        end = Math.max(end, h.end)
        grew = true
      }
      while (ri < rh.length && rh[ri]!.start <= end) {
        const h = rh[ri++]!
        groupR.push(h)
        start = Math.min(start, h.start)
        end = Math.max(end, h.end)
        grew = true
      }
    }
    out.push(...b.slice(pos, start))
    const mine = applyWithin(b, start, end, groupL)
    const theirs = applyWithin(b, start, end, groupR)
    if (groupR.length === 0) out.push(...mine)
    else if (groupL.length === 0) out.push(...theirs)
    else if (mine.join('\n') === theirs.join('\n')) out.push(...mine)
    else {
      conflicts++
      out.push(`<<<<<<< ${labels.local}`, ...mine, '||||||| base', ...b.slice(start, end), '=======', ...theirs, `>>>>>>> ${labels.remote}`)
    }
    pos = end
  }
  out.push(...b.slice(pos))
  const trailing = [local, remote, base].some((s) => s.endsWith('\n'))
  return {
    base,
    local,
    remote,
    localPatch: createTwoFilesPatch('base', labels.local, base, local),
    remotePatch: createTwoFilesPatch('base', labels.remote, base, remote),
    merged: joinLines(out, trailing),
    conflicts,
  }
}
