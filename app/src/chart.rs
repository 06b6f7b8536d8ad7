//! Bar charts people can read: a time axis with clock labels, a value axis with round
//! ticks, units on both, and a hover text on every bar. Pure layout, tested natively;
//! `ui::chart` draws it as SVG.

/// Width of the drawing, in SVG units (it scales to its box, text included).
pub const WIDTH: f64 = 640.0;
/// Height of the drawing.
pub const HEIGHT: f64 = 220.0;
/// Room left of the plot for the value axis' labels.
const LEFT: f64 = 56.0;
/// Room right of the plot.
const RIGHT: f64 = 12.0;
/// Room above the plot.
const TOP: f64 = 14.0;
/// Room below the plot for the time axis' labels and its title.
const BOTTOM: f64 = 44.0;
/// Most bars in a chart.
pub const MAX_BARS: usize = 24;

/// Values over time: one bar per period of `period` seconds from `start`.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Start of the first period, Unix seconds.
    pub start: u64,
    /// Seconds per period.
    pub period: u64,
    /// One value per period.
    pub values: Vec<f64>,
    /// What the values count, plural (`tasks`, `CNX`).
    pub unit: &'static str,
    /// Whether each bar is a sum over its period ([`Series::of`]) or a level at its end
    /// ([`Series::levels`]).
    pub is_level: bool,
}

impl Series {
    /// Events at Unix times `times`, each weighing its `f64`, summed into at most
    /// [`MAX_BARS`] periods of equal, round length (a minute at least) that cover them.
    /// `None` when there are none.
    pub fn of(events: &[(u64, f64)], unit: &'static str) -> Option<Self> {
        let first = events.iter().map(|(t, _)| *t).min()?;
        let last = events.iter().map(|(t, _)| *t).max()?;
        let period = round_period((last - first).div_ceil(MAX_BARS as u64).max(60));
        let start = first - first % period;
        let count = ((last - start) / period + 1) as usize;
        let mut values = vec![0.0; count];
        for (t, weight) in events {
            values[((t - start) / period) as usize] += weight;
        }
        Some(Self {
            start,
            period,
            values,
            unit,
            is_level: false,
        })
    }
}

impl Series {
    /// A level over time (health, QoS) from its values at Unix times: each period shows
    /// the last value set in it, and a period with none keeps the level before it.
    pub fn levels(events: &[(u64, f64)], unit: &'static str) -> Option<Self> {
        let times: Vec<(u64, f64)> = events.iter().map(|(t, _)| (*t, 0.0)).collect();
        let mut series = Self::of(&times, unit)?;
        let mut sorted = events.to_vec();
        sorted.sort_by_key(|(t, _)| *t);
        let mut next = sorted.iter().peekable();
        let mut level = 0.0;
        for (i, value) in series.values.iter_mut().enumerate() {
            let end = series.start + (i as u64 + 1) * series.period;
            while let Some((_, v)) = next.next_if(|(t, _)| *t < end) {
                level = *v;
            }
            *value = level;
        }
        series.is_level = true;
        Some(series)
    }
}

/// The smallest period of 1, 2, 5, 10, 15 or 30 minutes, 1, 2, 3, 6 or 12 hours, or a
/// whole number of days that is at least `secs`.
fn round_period(secs: u64) -> u64 {
    const ROUND: [u64; 11] = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720];
    ROUND
        .iter()
        .map(|m| m * 60)
        .find(|&p| p >= secs)
        .unwrap_or_else(|| secs.div_ceil(86_400) * 86_400)
}

/// A bar as drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct BarBox {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub width: f64,
    /// Height (0 for an empty period).
    pub height: f64,
    /// What hovering shows: the period and the value with its unit.
    pub title: String,
}

/// A labelled tick on an axis: its position along the axis and its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    /// `y` on the value axis, `x` on the time axis.
    pub at: f64,
    /// The label.
    pub label: String,
}

/// A chart laid out in a [`WIDTH`] × [`HEIGHT`] drawing.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// The bars, left to right.
    pub bars: Vec<BarBox>,
    /// The value axis' ticks, bottom (0) up.
    pub value_ticks: Vec<Tick>,
    /// The time axis' ticks, left to right.
    pub time_ticks: Vec<Tick>,
    /// The value axis' title.
    pub value_title: String,
    /// The time axis' title.
    pub time_title: String,
    /// The plot's left, top, right and bottom edges.
    pub plot: [f64; 4],
}

/// Lays `series` out.
pub fn layout(series: &Series) -> Layout {
    let (left, top, right, bottom) = (LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM);
    let max = series.values.iter().copied().fold(0.0, f64::max);
    let ticks = nice_ticks(max);
    let top_value = *ticks.last().unwrap_or(&1.0);
    let y_of = |v: f64| bottom - (bottom - top) * v / top_value;
    let slot = (right - left) / series.values.len().max(1) as f64;
    let bars = series
        .values
        .iter()
        .enumerate()
        .map(|(i, &value)| {
            let from = series.start + i as u64 * series.period;
            let height = bottom - y_of(value);
            BarBox {
                x: left + i as f64 * slot + slot * 0.12,
                y: bottom - height,
                width: slot * 0.76,
                height,
                title: format!(
                    "{}–{} UTC: {} {}",
                    clock(from, series.period),
                    clock(from + series.period, series.period),
                    number(value),
                    unit_for(value, series.unit)
                ),
            }
        })
        .collect();
    let value_ticks = ticks
        .iter()
        .map(|&v| Tick {
            at: y_of(v),
            label: number(v),
        })
        .collect();
    // A label every few bars, at most six, at period boundaries.
    let every = series.values.len().div_ceil(6).max(1);
    let time_ticks = (0..=series.values.len())
        .step_by(every)
        .map(|i| Tick {
            at: left + i as f64 * slot,
            label: clock(series.start + i as u64 * series.period, series.period),
        })
        .collect();
    Layout {
        bars,
        value_ticks,
        time_ticks,
        value_title: series.unit.to_owned(),
        time_title: format!("time (UTC), {} per bar", span_words(series.period)),
        plot: [left, top, right, bottom],
    }
}

/// Round ticks from 0 to at least `max`: steps of 1, 2 or 5 times a power of ten, at most
/// six ticks, whole numbers while `max` is at least 1.
pub fn nice_ticks(max: f64) -> Vec<f64> {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let raw = max / 5.0;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * power);
    let step = if max >= 1.0 {
        step.max(1.0).round()
    } else {
        step
    };
    let count = (max / step).ceil() as usize;
    (0..=count).map(|i| i as f64 * step).collect()
}

/// A value as a label: whole numbers plain, others with up to three significant decimals.
fn number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        let text = format!("{v:.3}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// `unit` (a plural) for `value`: `1 task`, `2 tasks`, `1 CNX`.
fn unit_for(value: f64, unit: &str) -> &str {
    match unit.strip_suffix('s') {
        Some(one) if value == 1.0 => one,
        _ => unit,
    }
}

/// Unix time as `HH:MM`, or as `MM-DD` when periods are whole days.
fn clock(unix: u64, period: u64) -> String {
    let (month, day) = month_day(unix / 86_400);
    if period >= 86_400 {
        format!("{month:02}-{day:02}")
    } else {
        let secs = unix % 86_400;
        format!("{:02}:{:02}", secs / 3600, secs % 3600 / 60)
    }
}

/// The month and day of the `days`-th day after 1970-01-01 (the civil calendar).
fn month_day(days: u64) -> (u64, u64) {
    // Howard Hinnant's `civil_from_days`, for days after the epoch.
    let z = days + 719_468;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (month, day)
}

/// `1 min`, `15 min`, `2 h`, `3 days`.
fn span_words(secs: u64) -> String {
    match secs {
        s if s >= 86_400 => {
            let days = s / 86_400;
            format!("{days} day{}", if days == 1 { "" } else { "s" })
        }
        s if s >= 3600 => format!("{} h", s / 3600),
        s => format!("{} min", s / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_largest_value() {
        assert_eq!(nice_ticks(0.0), vec![0.0, 1.0]);
        assert_eq!(nice_ticks(1.0), vec![0.0, 1.0]);
        assert_eq!(nice_ticks(3.0), vec![0.0, 1.0, 2.0, 3.0]);
        assert_eq!(nice_ticks(7.0), vec![0.0, 2.0, 4.0, 6.0, 8.0]);
        assert_eq!(nice_ticks(23.0), vec![0.0, 5.0, 10.0, 15.0, 20.0, 25.0]);
        assert_eq!(nice_ticks(100.0), vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        let small = nice_ticks(0.03);
        assert_eq!(small.len(), 4, "{small:?}");
        assert!((small[3] - 0.03).abs() < 1e-12);
        for max in [0.5, 1.5, 9.0, 11.0, 999.0, 12_345.0] {
            let ticks = nice_ticks(max);
            assert!(
                ticks.len() <= 7 && *ticks.last().unwrap() >= max,
                "{max}: {ticks:?}"
            );
        }
        assert_eq!(nice_ticks(f64::NAN), vec![0.0, 1.0]);
    }

    #[test]
    fn events_fall_into_round_periods() {
        assert_eq!(Series::of(&[], "tasks"), None);
        // 2026-12-07 10:03, 10:05 and 10:41 UTC: 2-minute bars from 10:02.
        let base = 1_796_637_600; // 2026-12-07 10:00:00 UTC
        let events = [(base + 180, 1.0), (base + 300, 1.0), (base + 2460, 1.0)];
        let series = Series::of(&events, "tasks").unwrap();
        assert_eq!(series.period, 120);
        assert_eq!(series.start, base + 120);
        assert_eq!(series.values.len(), 20);
        assert_eq!(series.values.iter().sum::<f64>(), 3.0);
        assert_eq!((series.values[0], series.values[1]), (1.0, 1.0));
        // A single event still makes a one-minute bar; a long span, day-long bars.
        let one = Series::of(&[(base + 5, 0.25)], "CNX").unwrap();
        assert_eq!((one.period, one.values.clone()), (60, vec![0.25]));
        let month = Series::of(&[(base, 1.0), (base + 30 * 86_400, 1.0)], "tasks").unwrap();
        assert_eq!(month.period, 2 * 86_400);
        assert!(month.values.len() <= MAX_BARS);
    }

    #[test]
    fn levels_keep_the_last_value_of_each_period_and_carry_it_over() {
        let base = 1_796_637_600;
        let health = [(base + 10, 100.0), (base + 20, 30.0), (base + 200, 45.0)];
        let series = Series::levels(&health, "%").unwrap();
        assert_eq!(series.period, 60);
        assert_eq!(series.values, vec![30.0, 30.0, 30.0, 45.0]);
        assert_eq!(layout(&series).bars[1].title, "10:01–10:02 UTC: 30 %");
        assert_eq!(Series::levels(&[], "%"), None);
    }

    #[test]
    fn the_layout_has_axes_units_and_hover_values() {
        let base = 1_796_637_600;
        let series = Series::of(
            &[(base, 2.0), (base + 300, 1.0), (base + 600, 5.0)],
            "tasks",
        )
        .unwrap();
        let chart = layout(&series);
        assert_eq!(chart.value_title, "tasks");
        assert_eq!(chart.time_title, "time (UTC), 1 min per bar");
        assert_eq!(chart.bars.len(), 11);
        assert_eq!(chart.bars[0].title, "10:00–10:01 UTC: 2 tasks");
        assert_eq!(chart.bars[10].title, "10:10–10:11 UTC: 5 tasks");
        assert_eq!(chart.bars[5].title, "10:05–10:06 UTC: 1 task");
        assert_eq!(chart.bars[4].height, 0.0);
        // The tallest bar reaches the tick of its value, every bar sits on the axis.
        let [left, _, right, bottom] = chart.plot;
        let five = chart.value_ticks.iter().find(|t| t.label == "5").unwrap();
        assert!((chart.bars[10].y - five.at).abs() < 1e-9);
        for bar in &chart.bars {
            assert!((bar.y + bar.height - bottom).abs() < 1e-9);
            assert!(bar.x >= left && bar.x + bar.width <= right);
        }
        assert_eq!(chart.value_ticks[0].at, bottom);
        let labels: Vec<_> = chart.time_ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(
            labels,
            ["10:00", "10:02", "10:04", "10:06", "10:08", "10:10"]
        );
        assert_eq!(clock(base, 86_400), "12-07");
        assert_eq!(month_day(0), (1, 1));
        assert_eq!(month_day(59), (3, 1), "1970 was not a leap year");
    }
}
