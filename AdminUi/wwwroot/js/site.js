// The admin UI's only script (served by the app itself; the pages work without it).
// Copy buttons: <button data-copy="input-id"> copies that input's value and says so in [data-copy-status="input-id"].
document.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-copy]");
    if (!button) return;
    const id = button.getAttribute("data-copy");
    const input = document.getElementById(id);
    const status = document.querySelector(`[data-copy-status="${id}"]`);
    if (!input) return;
    let copied = false;
    try {
        await navigator.clipboard.writeText(input.value);
        copied = true;
    } catch {
        // Without the clipboard API (plain http on another host), select the text and fall back to execCommand.
        input.focus();
        input.select();
        try { copied = document.execCommand("copy"); } catch { copied = false; }
    }
    if (status) status.textContent = copied ? "Copied to the clipboard." : "Copy failed: the key is selected, press Ctrl+C.";
});


// Confirmations: <form data-confirm="question"> submits only when the person confirms (without the script, at once).
document.addEventListener("submit", (event) => {
    const form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
});
