// Sparklines on dashboard cards: each <figure class="rp-trend"> holds its weekly figures as
// a list (readable without JavaScript); when Chart.js has loaded, a small line chart is
// drawn above the list, and the list stays for screen readers (visually hidden by CSS).
(function () {
    "use strict";

    function brand() {
        return getComputedStyle(document.documentElement).getPropertyValue("--brand").trim() || "#2b59c3";
    }

    function draw(figure) {
        var items = figure.querySelectorAll("li[data-day]");
        var labels = [];
        var values = [];
        var texts = [];
        items.forEach(function (item) {
            labels.push(item.dataset.day);
            values.push(item.dataset.value === "" ? null : Number(item.dataset.value));
            texts.push(item.dataset.text);
        });
        // One point is no trend: the list says it.
        if (values.filter(function (value) { return value !== null; }).length < 2) {
            return;
        }
        var box = document.createElement("div");
        box.className = "rp-spark";
        var canvas = document.createElement("canvas");
        canvas.setAttribute("role", "img");
        canvas.setAttribute("aria-label", figure.dataset.label || "Trend");
        box.appendChild(canvas);
        figure.insertBefore(box, figure.querySelector(".rp-series"));
        figure.classList.add("rp-charted");

        var datasets = [{
            data: values,
            borderColor: brand(),
            borderWidth: 2,
            pointRadius: 0,
            pointHoverRadius: 3,
            tension: 0.25,
            spanGaps: false,
            fill: false
        }];
        if (figure.dataset.target !== undefined) {
            var target = Number(figure.dataset.target);
            datasets.push({
                data: values.map(function () { return target; }),
                borderColor: "#98a2b3",
                borderWidth: 1,
                borderDash: [4, 3],
                pointRadius: 0,
                pointHoverRadius: 0
            });
        }
        new window.Chart(canvas, {
            type: "line",
            data: { labels: labels, datasets: datasets },
            options: {
                responsive: true,
                maintainAspectRatio: false,
                animation: false,
                interaction: { mode: "index", intersect: false },
                plugins: {
                    legend: { display: false },
                    tooltip: {
                        displayColors: false,
                        filter: function (item) { return item.datasetIndex === 0; },
                        callbacks: {
                            label: function (context) { return texts[context.dataIndex]; }
                        }
                    }
                },
                scales: { x: { display: false }, y: { display: false, grace: "10%" } }
            }
        });
    }

    document.addEventListener("DOMContentLoaded", function () {
        if (!window.Chart) {
            return;
        }
        document.querySelectorAll("figure.rp-trend").forEach(draw);
    });
})();
