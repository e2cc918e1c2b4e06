/* globals Morris */
/* The funding line on the Decide page, drawn with pretix's own Morris.js (static/charts). */
$(function () {
    var el = document.getElementById('decide-chart-data');
    if (!el || typeof Morris === 'undefined') {
        return;
    }
    var data = JSON.parse(el.textContent);
    var budget = parseFloat(document.getElementById('decide-chart').getAttribute('data-budget'));
    var line = document.getElementById('decide-chart').getAttribute('data-line');
    var tied = data.filter(function (d) { return d.tied; }).map(function (d) { return d.x; });
    var chart = document.getElementById('decide-chart');
    $('#decide-chart, #decide-offers').css('height', '260px');
    new Morris.Line({
        element: 'decide-chart',
        data: data,
        xkey: 'x',
        ykeys: ['cumulative'],
        labels: [chart.getAttribute('data-label-total')],
        parseTime: false,
        goals: isNaN(budget) ? [] : [budget],
        goalLineColors: ['#c44'],
        events: line ? [line] : [],
        eventLineColors: ['#c44'],
        hideHover: 'auto',
        resize: true,
        lineColors: ['#3b1c4a'],
        pointSize: data.length > 200 ? 0 : 3
    });
    new Morris.Bar({
        element: 'decide-offers',
        data: data,
        xkey: 'x',
        ykeys: ['offer'],
        labels: [chart.getAttribute('data-label-offer')],
        barColors: function (row, series, type) {
            var d = data[row.x];
            if (d && d.tied) { return '#e0a800'; }
            return d && d.funded ? '#50a167' : '#999';
        },
        hideHover: 'auto',
        resize: true
    });
    $('#decide-chart').attr('data-drawn', tied.length);
});
