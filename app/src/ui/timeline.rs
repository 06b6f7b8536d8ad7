//! A task's live timeline: the phases it passes through, then every chain event.

use contracts::TaskManager::TaskState;
use leptos::prelude::*;

use crate::timeline::{TimelineItem, state_words};

const PHASES: [(u8, &str); 6] = [
    (TaskState::WAITING_SEED, "Created"),
    (TaskState::QUEUED, "Nodes drawn"),
    (TaskState::RUNNING, "Running"),
    (TaskState::REVEALING, "Revealing"),
    (TaskState::VALIDATED, "Validated"),
    (TaskState::SUCCESS, "Uploaded"),
];

/// The phase bar and the event list.
#[component]
pub fn Timeline(
    /// The task's events, oldest first.
    items: Vec<TimelineItem>,
    /// The task's state on chain (`TaskState`).
    state: u8,
) -> impl IntoView {
    let aborted = state == TaskState::ABORTED;
    view! {
        <div class="timeline" data-testid="timeline" data-state=state_words(state)>
            <ol class="phases">
                {PHASES.iter().map(|(phase, label)| {
                    let done = !aborted && state >= *phase && state != TaskState::NONE;
                    let current = state == *phase && !aborted;
                    view! { <li class:done=done class:current=current>{*label}</li> }
                }).collect_view()}
                {aborted.then(|| view! { <li class="aborted">"Aborted"</li> })}
            </ol>
            <ol class="events">
                {items.into_iter().map(|item| view! {
                    <li class=item.tone.class()>
                        <span class="block">"#" {item.block}</span>
                        <strong>{item.title}</strong>
                        <span class="detail">{item.detail}</span>
                    </li>
                }).collect_view()}
            </ol>
        </div>
    }
}
