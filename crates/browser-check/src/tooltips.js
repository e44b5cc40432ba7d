// Runs on a page whose <body> has data-task-count="N" (report.html). The contract:
// N elements carry data-task (one per task bar) and data-tag; hovering one makes the
// single #tooltip element visible, with text that contains that bar's data-tag.
// Dispatches mouseover and mousemove on every bar in turn, and returns one JSON
// string: how many bars showed their tooltip, and what went wrong.
(async () => {
  const problems = [];
  const declared = document.body.getAttribute("data-task-count");
  const want = Number(declared);
  const bars = [...document.querySelectorAll("[data-task]")];
  if (!Number.isInteger(want) || want < 0) {
    problems.push(`<body data-task-count="${declared}"> is not a count`);
  } else if (bars.length !== want) {
    problems.push(`${bars.length} elements have data-task, but <body data-task-count="${want}">`);
  }
  const tip = document.getElementById("tooltip");
  if (!tip) {
    problems.push("no #tooltip element");
    return JSON.stringify({ bars: bars.length, shown: 0, problems });
  }
  const visible = () => {
    const style = getComputedStyle(tip);
    const box = tip.getBoundingClientRect();
    return style.display !== "none" && style.visibility !== "hidden" &&
      Number(style.opacity) > 0 && box.width > 0 && box.height > 0;
  };
  // One frame, so a tooltip that is positioned in requestAnimationFrame is drawn;
  // the timer covers a page that draws no frames.
  const frame = () =>
    new Promise((done) => {
      requestAnimationFrame(done);
      setTimeout(done, 100);
    });
  let shown = 0;
  for (const bar of bars) {
    const name = `bar data-task="${bar.getAttribute("data-task")}"`;
    const tag = bar.getAttribute("data-tag");
    const box = bar.getBoundingClientRect();
    const at = {
      bubbles: true, cancelable: true, view: window,
      clientX: box.left + box.width / 2, clientY: box.top + box.height / 2,
    };
    bar.dispatchEvent(new MouseEvent("mouseover", at));
    bar.dispatchEvent(new MouseEvent("mousemove", at));
    await frame();
    if (tag === null) {
      problems.push(`${name} has no data-tag`);
    } else if (!visible()) {
      problems.push(`hovering ${name} (${tag}) leaves #tooltip hidden`);
    } else if (!tip.textContent.includes(tag)) {
      problems.push(`hovering ${name} shows "${tip.textContent.trim().slice(0, 60)}", without its tag ${tag}`);
    } else {
      shown += 1;
    }
    bar.dispatchEvent(new MouseEvent("mouseout", at));
  }
  return JSON.stringify({ bars: bars.length, shown, problems });
})()
