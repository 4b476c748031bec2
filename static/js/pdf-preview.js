/* PAX: PDF previews drawn by pdf.js, loaded from our own origin (static/pdfjs, installed by
   `make assets`) and run with eval off, under the portal's CSP: no inline script, the worker
   from 'self'. The PDF is the ordinary download, so it is audited, and stamped for the reader
   when its marking asks. Pages are drawn on canvases, each labelled for screen readers. */
const MAX_PAGES = 50;

async function showPreview(section) {
  const status = section.querySelector(".pax-pdf-preview__status");
  const pages = section.querySelector(".pax-pdf-preview__pages");
  const base = section.dataset.pdfLib.replace(/build\/[^/]+$/, "");
  try {
    const pdfjs = await import(section.dataset.pdfLib);
    pdfjs.GlobalWorkerOptions.workerSrc = section.dataset.pdfWorker;
    const pdf = await pdfjs.getDocument({
      url: section.dataset.pdfUrl,
      isEvalSupported: false,
      enableXfa: false,
      useWasm: false,
      standardFontDataUrl: base + "standard_fonts/",
      cMapUrl: base + "cmaps/",
      cMapPacked: true,
    }).promise;
    const shown = Math.min(pdf.numPages, MAX_PAGES);
    const ratio = window.devicePixelRatio || 1;
    for (let number = 1; number <= shown; number += 1) {
      const page = await pdf.getPage(number);
      const viewport = page.getViewport({ scale: 1.3 });
      const figure = document.createElement("figure");
      figure.className = "pax-pdf-preview__page";
      const canvas = document.createElement("canvas");
      canvas.className = "pax-pdf-preview__canvas";
      canvas.width = Math.floor(viewport.width * ratio);
      canvas.height = Math.floor(viewport.height * ratio);
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", `Page ${number} of ${pdf.numPages}`);
      const caption = document.createElement("figcaption");
      caption.className = "pax-muted";
      caption.textContent = `Page ${number} of ${pdf.numPages}`;
      figure.append(canvas, caption);
      pages.append(figure);
      await page.render({
        canvas,
        canvasContext: canvas.getContext("2d"),
        viewport,
        transform: ratio === 1 ? null : [ratio, 0, 0, ratio, 0, 0],
      }).promise;
    }
    status.textContent =
      pdf.numPages > shown
        ? `The first ${shown} of ${pdf.numPages} pages are shown; download the file for the rest.`
        : `${pdf.numPages} ${pdf.numPages === 1 ? "page" : "pages"}.`;
    section.dataset.pdfPreview = "ready";
  } catch (error) {
    status.textContent = "The preview could not be shown. Download the file to open it.";
    section.dataset.pdfPreview = "failed";
  }
}

for (const section of document.querySelectorAll(".pax-pdf-preview")) {
  showPreview(section);
}
