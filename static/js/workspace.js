// Canned replies: a click fills the reply box with the department's ready-made text.
document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-canned-reply]");
    if (!button) return;
    const target = document.getElementById(button.dataset.target);
    if (target) {
        target.value = button.dataset.cannedReply;
        target.focus();
    }
});
