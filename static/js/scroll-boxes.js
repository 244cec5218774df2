// A box that scrolls sideways (a wide table or drawing on a narrow screen) and holds no link
// or control cannot be reached from the keyboard, so its hidden part cannot be scrolled into
// view (WCAG 2.1.1). Such a box takes a tab stop of its own while, and only while, it
// overflows; arrow keys then scroll it. Boxes with a link inside are reached through it.
(() => {
    const BOXES = ".table-scroll, .plan-graph, .vsm, .jc, .prose pre";
    const FOCUSABLE = "a[href], button, input, select, textarea, summary, [tabindex]";
    // Marks a tab stop this script gave, so it never takes away one a template set.
    const GIVEN = "data-scroll-stop";

    const update = (box) => {
        const overflows = box.scrollWidth > box.clientWidth;
        const given = box.hasAttribute(GIVEN);
        if (overflows && !given && !box.querySelector(FOCUSABLE) && !box.hasAttribute("tabindex")) {
            box.setAttribute("tabindex", "0");
            box.setAttribute(GIVEN, "");
        } else if (!overflows && given) {
            box.removeAttribute("tabindex");
            box.removeAttribute(GIVEN);
        }
    };

    const boxes = document.querySelectorAll(BOXES);
    const watcher = new ResizeObserver((entries) => entries.forEach((entry) => update(entry.target)));
    boxes.forEach((box) => {
        update(box);
        watcher.observe(box);
    });
})();
