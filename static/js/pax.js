document.addEventListener("DOMContentLoaded", function () { if (window.ECL && ECL.autoInit) { ECL.autoInit(); } });
