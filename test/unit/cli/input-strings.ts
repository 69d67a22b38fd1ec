/** The strings issue 12's input properties draw from (unit and real-CLI tests). */
import fc from 'fast-check'

/** Strings users type: YAML-special, ESC-special (`${`), leading `-`, comments, line breaks, unicode. */
export const userString: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      fc.constantFrom('$', '{', '}', '${', '$${', '${x}', '#', ' #1', ':', ': ', '-', '--', '\n', '\r\n', '\t', '"', "'", '\\', 'null', 'True', 'False'),
      fc.constantFrom('007', '1.0', '0x1F', '~', '|', '>', '&a', '*a', '!', '%', '@', '`', ' ', 'é', '😀', '\u2028', '[', ']', ',', '? ', '---', '...'),
      fc.string({ unit: 'binary', maxLength: 4 }),
    ),
    { maxLength: 12 },
  )
  .map((a) => a.join(''))
  .filter((s) => s.isWellFormed())
