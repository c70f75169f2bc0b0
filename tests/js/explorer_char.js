(root, [i, colour]) => {
  const chars = root.querySelector('.gx-chars');
  const range = document.createRange();
  range.setStart(chars.firstChild, i);
  range.setEnd(chars.firstChild, i + 1);
  const box = root.querySelector('.gx-text');
  box.scrollIntoView({block: 'nearest'});
  const view = box.getBoundingClientRect();
  let r = range.getBoundingClientRect();
  if (r.top < view.top || r.bottom > view.bottom) {
    box.scrollTop += r.top - view.top - 20;
    r = range.getBoundingClientRect();
  }
  const [x, y] = [r.left + r.width / 2, r.top + r.height / 2];
  if (!colour) return {x, y};
  const paint = root.querySelector('.gx-paint');
  const p = paint.getBoundingClientRect();
  const dpr = paint.width / p.width;
  const rgb = [...paint.getContext('2d').getImageData((x - p.left) * dpr, (y - p.top) * dpr, 1, 1).data.slice(0, 3)];
  return {x, y, rgb};
}
