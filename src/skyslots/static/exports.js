// The Exports tab: follow each queued or running export until it is done or failed.
const POLL_MS = 1000;

function show(row, exp) {
  row.dataset.status = exp.status;
  const badge = row.querySelector('[data-role="status"]');
  badge.textContent = exp.status;
  badge.className = `badge badge--${exp.status}`;
  row.querySelector('[data-role="error"]').textContent = exp.error || '';
  const bar = row.querySelector('[data-role="progress"]');
  bar.value = exp.progress;
  bar.textContent = `${exp.progress}%`;
  const cell = row.querySelector('[data-role="download"]');
  if (exp.url && !cell.querySelector('a')) {
    const link = document.createElement('a');
    link.href = exp.url;
    link.download = '';
    link.textContent = `Download ${exp.format.toUpperCase()}`;
    cell.replaceChildren(link);
  }
}

async function follow(row) {
  while (row.dataset.status === 'queued' || row.dataset.status === 'running') {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    try {
      const answer = await fetch(`/api/exports/${row.dataset.export}`, { credentials: 'same-origin' });
      if (!answer.ok) return;
      show(row, await answer.json());
    } catch {
      // offline for a moment: the next poll tries again
    }
  }
}

document.querySelectorAll('tr[data-export]').forEach((row) => follow(row));
