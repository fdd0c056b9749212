// skiff's web UI: the page frame (navigation, error banner), the routes, and the login
// asked for when the server answers 401.
import { setLoginHandler } from './api';
import { mountBanner } from './banner';
import { askToken } from './dialogs';
import { h } from './dom';
import { currentNamespace } from './ns';
import { route, startRouter } from './router';
import './style.css';
import { appView } from './views/app';
import { appsView } from './views/apps';
import { cronListView, cronView } from './views/cron';
import { templatesView, templateView } from './views/templates';
import { workflowView } from './views/workflow';
import { workflowsView } from './views/workflows';

setLoginHandler(askToken);

function logo(): SVGSVGElement {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 16 16');
  svg.setAttribute('aria-hidden', 'true');
  svg.innerHTML = '<path d="M1 10h14l-3 4H4z" fill="#5b9bf0"/><path d="M8 1v8H3z" fill="#3ccf7e"/>';
  return svg;
}

const banner = h('div', { class: 'banner', 'aria-live': 'assertive' });
const main = h('main', { id: 'main', tabindex: -1 });
const nav = h(
  'nav',
  { class: 'top', 'aria-label': 'main' },
  h('a', { href: '/workflows', class: 'brand', 'aria-label': 'skiff home' }, logo(), 'skiff'),
  h('a', { href: '/workflows', 'data-nav': '/workflows' }, 'Workflows'),
  h('a', { href: '/applications', 'data-nav': '/applications' }, 'Applications'),
  h('a', { href: '/workflow-templates', 'data-nav': '/workflow-templates' }, 'Templates'),
  h('a', { href: '/cluster-workflow-templates', 'data-nav': '/cluster-workflow-templates' }, 'Cluster templates'),
  h('a', { href: '/cron-workflows', 'data-nav': '/cron-workflows' }, 'Cron workflows'),
);
document.getElementById('app')!.append(h('a', { href: '#main', class: 'skip' }, 'Skip to content'), nav, banner, main);
mountBanner(banner);

const ns = () => currentNamespace();
route(/^\/$/, (m, _p, q) => workflowsView(m, [], q, ns()));
route(/^\/workflows$/, (m, _p, q) => workflowsView(m, [], q, ns()));
route(/^\/workflows\/([^/]+)$/, (m, p, q) => workflowsView(m, p, q, ns()));
route(/^\/workflows\/([^/]+)\/([^/]+)$/, workflowView);
route(/^\/workflow-templates$/, (m) => templatesView(m, ns(), false));
route(/^\/workflow-templates\/([^/]+)$/, (m, p) => templatesView(m, p[0], false));
route(/^\/workflow-templates\/([^/]+)\/([^/]+)$/, (m, p) => templateView(m, p[0], p[1], false, ns()));
route(/^\/cluster-workflow-templates$/, (m) => templatesView(m, '', true));
route(/^\/cluster-workflow-templates\/([^/]+)$/, (m, p) => templateView(m, '', p[0], true, ns()));
route(/^\/cron-workflows$/, (m) => cronListView(m, ns()));
route(/^\/cron-workflows\/([^/]+)$/, (m, p) => cronListView(m, p[0]));
route(/^\/cron-workflows\/([^/]+)\/([^/]+)$/, (m, p) => cronView(m, p[0], p[1]));
// Argo CD's application links: /applications/{name} is in the namespace argocd.
route(/^\/applications$/, (m, _p, q) => appsView(m, q));
route(/^\/applications\/([^/]+)$/, appView);
route(/^\/applications\/([^/]+)\/([^/]+)$/, appView);

startRouter(main, (m, p) => {
  m.append(h('h1', null, 'Not found'), h('p', null, `Nothing here at ${p[0]}. `, h('a', { href: '/workflows' }, 'Go to workflows')));
});
