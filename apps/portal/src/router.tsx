import type { AnchorHTMLAttributes, MouseEvent } from 'react';
import { useEffect, useSyncExternalStore } from 'react';

/** Everything lives under /portal/; routes are the path below it. */
export const BASE = '/portal/';

function subscribe(onChange: () => void) {
  window.addEventListener('popstate', onChange);
  return () => window.removeEventListener('popstate', onChange);
}

const snapshot = () => window.location.pathname + window.location.search;

/** The current route: the path below /portal/ and its query. */
export function useLocation(): { path: string; query: URLSearchParams } {
  const current = useSyncExternalStore(subscribe, snapshot);
  const url = new URL(current, window.location.origin);
  const path = url.pathname.startsWith(BASE) ? url.pathname.slice(BASE.length).replace(/\/$/, '') : '';
  return { path, query: url.searchParams };
}

export function href(to: string): string {
  return `${BASE}${to.replace(/^\//, '')}`;
}

export function navigate(to: string, options: { replace?: boolean } = {}) {
  const target = href(to);
  if (target === snapshot()) return;
  if (options.replace) window.history.replaceState(null, '', target);
  else window.history.pushState(null, '', target);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

/** A real link (works with the keyboard, middle click, copy link), routed in the page. */
export function Link({ to, ...props }: { to: string } & Omit<AnchorHTMLAttributes<HTMLAnchorElement>, 'href'>) {
  const onClick = (event: MouseEvent<HTMLAnchorElement>) => {
    props.onClick?.(event);
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    navigate(to);
  };
  return <a {...props} href={href(to)} onClick={onClick} />;
}

/** Moves focus to the page's heading after a route change, so keyboard and screen reader users start there. */
export function useFocusHeading(key: string) {
  useEffect(() => {
    document.querySelector<HTMLElement>('main h1')?.focus();
  }, [key]);
}
