// Copy buttons beside the download URLs: the one script of the web pages, loaded from the
// server (the Content-Security-Policy allows no inline script). Without it the URL fields
// can still be selected and copied by hand.
document.querySelectorAll("button[data-copy]").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) { return; }
    field.select();
    if (navigator.clipboard) {
      navigator.clipboard.writeText(field.value);
    } else {
      document.execCommand("copy");
    }
    button.textContent = "Copied";
  });
});
