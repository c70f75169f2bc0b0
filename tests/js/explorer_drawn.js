(root) => ({
  text: root.querySelector('.gx-paint').toDataURL(),
  heat: root.querySelector('.gx-heat').toDataURL(),
  scatter: root.querySelector('.gx-scatter').toDataURL(),
  status: root.querySelector('.gx-status').innerText,
  hover: root.querySelector('.gx-hover').innerText,
  green: [...root.querySelectorAll('.gx-hover span')].filter(s => s.style.background.includes('0, 140, 0')).length,
  passage: root.querySelector('.gx-chars').textContent,
  unit: +root.querySelector('.gx-unit').value,
  ranked: [...root.querySelectorAll('.gx-ranked option')].map(o => +o.value).filter(v => v >= 0),
})
