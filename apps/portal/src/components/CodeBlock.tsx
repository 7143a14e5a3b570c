/** Pretty-printed JSON or text in a block that scrolls sideways on narrow screens. */
export function CodeBlock({ children }: { children: string }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a block that scrolls must be reachable by keyboard to scroll it (WCAG 2.1.1; axe scrollable-region-focusable)
    <pre className="code" tabIndex={0}>
      {children}
    </pre>
  );
}
