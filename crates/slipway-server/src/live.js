"use strict";
// The live tail of a running run: polls the API for what the log gained, appends it as text
// (never as HTML), marks failing lines, and stops when the run ends.
(() => {
  const log = document.getElementById("log");
  if (log === null) return;
  const run = log.dataset.run;
  let next = Number(log.dataset.next);
  const failing = /--- FAIL|\[FAILED\]|FAIL:|panic:|Error:|ERROR|error:|fatal:/;
  const append = (text) => {
    for (const line of text.split(/(?<=\n)/)) {
      if (line === "") continue;
      const span = document.createElement("span");
      span.className = failing.test(line) ? "appended bad" : "appended";
      span.textContent = line;
      log.appendChild(span);
    }
  };
  const poll = async () => {
    try {
      const response = await fetch(`/api/v1/runs/${encodeURIComponent(run)}/log?from=${next}`);
      if (response.ok) {
        const answer = await response.json();
        if (answer.text !== "") append(answer.text);
        next = answer.next;
        if (!answer.running) {
          const state = document.getElementById("state");
          if (state !== null) {
            state.textContent = answer.state;
            state.className = `state state-${answer.state}`;
          }
          return;
        }
      }
    } catch (_) {
      // The server restarted or the network dropped: try again.
    }
    setTimeout(poll, 500);
  };
  setTimeout(poll, 500);
})();
