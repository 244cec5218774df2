// Conditional questions on a request form: a field marked
//   data-show-when="<name of the controlling input>" data-show-value="<value>"
// is shown only while the controlling answer has that value. This only spares people
// questions that do not apply: the server decides again on submit (services/forms.py),
// and a hidden field is neither required nor stored, whatever the browser sends.
(function () {
    "use strict";

    // Mirrors forms._matches: one of the ticked boxes for a multiple choice, otherwise the
    // answer compared without case or surrounding spaces.
    function matches(form, name, expected) {
        const inputs = form.querySelectorAll(`[name="${CSS.escape(name)}"]`);
        for (const input of inputs) {
            if (input.disabled) {
                continue;
            }
            if (input.type === "checkbox") {
                if (input.checked && input.value === expected) {
                    return true;
                }
                continue;
            }
            if (input.type === "radio" && !input.checked) {
                continue;
            }
            const value = input.value.trim().toLowerCase();
            if (value !== "" && value === expected.trim().toLowerCase()) {
                return true;
            }
        }
        return false;
    }

    function update(form) {
        // Document order is form order, so a controller is settled before its dependents,
        // and a field whose controller is hidden (disabled) stays hidden too.
        for (const wrapper of form.querySelectorAll("[data-show-when]")) {
            const shown = matches(form, wrapper.dataset.showWhen, wrapper.dataset.showValue);
            wrapper.hidden = !shown;
            for (const input of wrapper.querySelectorAll("input, select, textarea")) {
                input.disabled = !shown;
            }
        }
    }

    document.addEventListener("DOMContentLoaded", function () {
        for (const form of document.querySelectorAll("form[data-conditional-fields]")) {
            update(form);
            form.addEventListener("input", () => update(form));
            form.addEventListener("change", () => update(form));
            // A second click would only resend the same form (the server answers with the
            // first request); still, say that it is on its way.
            form.addEventListener("submit", function (event) {
                const button = event.submitter;
                if (button) {
                    setTimeout(() => {
                        button.dataset.label = button.textContent;
                        button.disabled = true;
                        button.textContent = "Sending...";
                    });
                }
            });
        }
    });

    // Coming back with the browser's back button shows the page as it was left.
    window.addEventListener("pageshow", function (event) {
        if (!event.persisted) {
            return;
        }
        for (const button of document.querySelectorAll("form[data-conditional-fields] [data-label]")) {
            button.disabled = false;
            button.textContent = button.dataset.label;
        }
    });
})();
