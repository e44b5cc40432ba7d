// Runs inside each page once it has loaded; the checker evaluates it and reads back
// one JSON string. It only observes: what the page shows, links to and names.
(async () => {
  // Wait for the load event, then for every image that is still loading (a lazy one
  // is made eager first, or a headless window would never fetch it).
  if (document.readyState !== "complete") {
    await new Promise((done) => window.addEventListener("load", done, { once: true }));
  }
  for (const img of document.images) img.loading = "eager";
  const settled = (img) =>
    new Promise((done) => {
      img.addEventListener("load", done, { once: true });
      img.addEventListener("error", done, { once: true });
    });
  const loading = [...document.images].filter((img) => !img.complete).map(settled);
  await Promise.race([Promise.all(loading), new Promise((done) => setTimeout(done, 10000))]);
  // Give scripts that run right after load (mdbook's sidebar, a report's charts)
  // a moment, so that an error they throw is caught here and not on the next page.
  await new Promise((done) => setTimeout(done, 300));

  const images = [...document.images];
  return JSON.stringify({
    images: images.length,
    broken_images: images
      .filter((img) => !(img.complete && img.naturalWidth > 0))
      .map((img) => img.getAttribute("src") || img.outerHTML.slice(0, 80)),
    // Resolved by the browser, against the page's own URL and any <base>; except a
    // bare "#anchor", which is checked against this page. (mdbook's 404.html has
    // <base href="/">, which sends its heading's self-link to the home page.)
    links: [...document.querySelectorAll("a[href]")].map((a) =>
      a.getAttribute("href").startsWith("#")
        ? location.href.split("#")[0] + a.getAttribute("href")
        : a.href,
    ),
    ids: [...document.querySelectorAll("[id]")].map((e) => e.id)
      .concat([...document.querySelectorAll("a[name]")].map((a) => a.name)),
    task_count: document.body ? document.body.getAttribute("data-task-count") : null,
  });
})()
