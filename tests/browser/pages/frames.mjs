// frames.mjs: the requestAnimationFrame counter of burst.html and
// yield-probe.html. `await countFrames(element)` starts at a frame boundary and
// counts every frame until stop(), turning `element` a little each frame so
// that every frame has something to paint; stop() returns {frames,
// longestFrameGapMs}.
export async function countFrames(element) {
  let frames = 0;
  let counting = true;
  let last = 0;
  let longest = 0;
  const onFrame = (now) => {
    if (!counting) return;
    frames++;
    longest = Math.max(longest, now - last);
    last = now;
    element.style.transform = `rotate(${frames * 6}deg)`;
    requestAnimationFrame(onFrame);
  };
  await new Promise((r) => requestAnimationFrame(r));
  last = performance.now();
  requestAnimationFrame(onFrame);
  return {
    stop() {
      counting = false;
      return { frames, longestFrameGapMs: longest };
    },
  };
}
