// Keyboard for list tables: rows are focusable, arrow keys move, Enter opens.
export function focusableRows(tbody: HTMLElement, open: (tr: HTMLTableRowElement) => void): void {
  tbody.addEventListener('keydown', (e) => {
    const tr = (e.target as HTMLElement).closest('tr');
    if (!tr || e.target !== tr) return;
    let to: Element | null = null;
    if (e.key === 'ArrowDown') to = tr.nextElementSibling;
    else if (e.key === 'ArrowUp') to = tr.previousElementSibling;
    else if (e.key === 'Home') to = tbody.firstElementChild;
    else if (e.key === 'End') to = tbody.lastElementChild;
    else if (e.key === 'Enter') {
      e.preventDefault();
      open(tr);
      return;
    } else return;
    e.preventDefault();
    (to as HTMLElement | null)?.focus();
  });
  tbody.addEventListener('click', (e) => {
    const t = e.target as HTMLElement;
    if (t.closest('a, button, input, select')) return;
    const tr = t.closest('tr');
    if (tr && tr.dataset.name) open(tr);
  });
}
