// The demo shop (served in simulator mode only): the product and checkout at /demo/,
// the thank-you page the cashier returns to at /demo/thanks.
import { describeError } from '../api/client';
import { messageBox, say } from '../ui';
import { shopView } from './shop';
import { thanksView } from './thanks';

const app = document.getElementById('app')!;
const thanks = location.pathname.replace(/\/$/, '').endsWith('/thanks');
document.title = `${thanks ? 'Thank you' : 'Longjing tea'} · Tea house (payport demo)`;
try {
  const view = thanks ? await thanksView(new URLSearchParams(location.search)) : await shopView();
  app.replaceChildren(view);
  view.querySelector<HTMLElement>('#view-title')?.focus();
} catch (err) {
  const message = messageBox();
  say(message, describeError(err), 'error');
  app.replaceChildren(message);
}
