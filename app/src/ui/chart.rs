//! A bar chart as SVG, from [`crate::chart`]'s layout: axes with ticks and units, a hover
//! text on every bar, and a caption for screen readers.

use leptos::prelude::*;

use crate::chart::{HEIGHT, Layout, Series, WIDTH, layout};

/// Draws `series` under `title`; `testid` names it for the end-to-end tests.
#[component]
pub fn BarChart(series: Series, title: &'static str, testid: &'static str) -> impl IntoView {
    let Layout {
        bars,
        value_ticks,
        time_ticks,
        value_title,
        time_title,
        plot: [left, top, right, bottom],
    } = layout(&series);
    let bars_count = series.values.len();
    let bars_words = format!("{bars_count} bar{}", if bars_count == 1 { "" } else { "s" });
    let summary = if series.is_level {
        let latest = series.values.last().copied().unwrap_or(0.0);
        format!(
            "{title}: now {} {} ({bars_words}); {time_title}",
            (latest * 1000.0).round() / 1000.0,
            series.unit
        )
    } else {
        let total: f64 = series.values.iter().sum();
        format!(
            "{title}: {} {} in {bars_words}; {time_title}",
            (total * 1000.0).round() / 1000.0,
            series.unit
        )
    };
    view! {
        <figure class="chart" data-testid=testid>
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=summary.clone()>
                <g class="grid">
                    {value_ticks.iter().map(|t| view! {
                        <line x1=left.to_string() x2=right.to_string() y1=t.at.to_string() y2=t.at.to_string()/>
                    }).collect_view()}
                </g>
                <g class="bars">
                    {bars.into_iter().map(|b| view! {
                        <rect x=format!("{:.1}", b.x) y=format!("{:.1}", b.y)
                              width=format!("{:.1}", b.width) height=format!("{:.1}", b.height)>
                            <title>{b.title}</title>
                        </rect>
                    }).collect_view()}
                </g>
                <g class="axis value-axis">
                    <line x1=left.to_string() x2=left.to_string() y1=top.to_string() y2=bottom.to_string()/>
                    {value_ticks.into_iter().map(|t| view! {
                        <text x=(left - 6.0).to_string() y=(t.at + 4.0).to_string() text-anchor="end">{t.label}</text>
                    }).collect_view()}
                    <text class="title" x="12" y=((top + bottom) / 2.0).to_string() text-anchor="middle"
                          transform=format!("rotate(-90 12 {})", (top + bottom) / 2.0)>{value_title}</text>
                </g>
                <g class="axis time-axis">
                    <line x1=left.to_string() x2=right.to_string() y1=bottom.to_string() y2=bottom.to_string()/>
                    {time_ticks.into_iter().map(|t| view! {
                        <line x1=t.at.to_string() x2=t.at.to_string() y1=bottom.to_string() y2=(bottom + 4.0).to_string()/>
                        // The last label ends at the plot's edge rather than past it.
                        <text x=t.at.to_string() y=(bottom + 16.0).to_string()
                              text-anchor={if t.at >= right - 1.0 { "end" } else { "middle" }}>{t.label}</text>
                    }).collect_view()}
                    <text class="title" x=((left + right) / 2.0).to_string() y=(HEIGHT - 6.0).to_string() text-anchor="middle">{time_title}</text>
                </g>
            </svg>
            <figcaption>{summary}</figcaption>
        </figure>
    }
}
