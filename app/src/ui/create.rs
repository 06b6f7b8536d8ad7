//! The Create page: an SD form and an LLM form, validated as you type with `verifier`'s
//! rules, the task hash shown before paying, then the requester flow.

use leptos::prelude::*;
use leptos::task::spawn_local;
use relay_api::Layout;
use relay_client::RelayClient;

use super::{Ctx, Route, navigate};
use requester::{Order, Step};

use crate::format::cnx;
use crate::forms::{
    FormErrors, LlmForm, MessageForm, SCHEDULERS, SdForm, build_llm, build_sd, error_for,
};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Sd,
    Llm,
}

/// The Create page.
#[component]
pub fn CreatePage() -> impl IntoView {
    let ctx = Ctx::get();
    let kind = RwSignal::new(Kind::Sd);
    let sd = RwSignal::new(SdForm::default());
    let llm = RwSignal::new(LlmForm::default());
    let models = RwSignal::new(Vec::<(String, Layout)>::new());
    let gpu = RwSignal::new(None::<(String, u64)>);
    let step = RwSignal::new(None::<Step>);
    let private = RwSignal::new(false);

    if let Ok(config) = ctx.config_now() {
        let relay_config = config.clone();
        spawn_local(async move {
            if let Ok(client) = RelayClient::new(&relay_config.relay_url, relay_config.chain_id)
                && let Ok(list) = client.models().await
            {
                models.set(list.into_iter().map(|m| (m.name, m.layout)).collect());
            }
        });
        spawn_local(async move {
            if let Ok(reader) = crate::chain::reader(&config)
                && let Ok(group) = reader.llm_group().await
            {
                gpu.set(group);
            }
        });
    }

    let built = Memo::new(move |_| match kind.get() {
        Kind::Sd => sd.with(build_sd),
        Kind::Llm => llm.with(|form| build_llm(form, gpu.get().as_ref())),
    });

    let errors = Memo::new(move |_| built.get().err().unwrap_or_default());

    let submit = move |_| {
        let Ok(mut built) = built.get_untracked() else {
            ctx.notice.set(Some(crate::error::AppError::Invalid));
            return;
        };
        built.private = private.get_untracked();
        let (config, wallet) = match (ctx.config_now(), ctx.wallet_now()) {
            (Ok(c), Ok(w)) => (c, w),
            (Err(e), _) | (_, Err(e)) => {
                ctx.notice.set(Some(e));
                return;
            }
        };
        ctx.notice.set(None);
        step.set(Some(Step::Checking));
        spawn_local(async move {
            let result = submit(&config, &wallet, &built, |s| step.set(Some(s))).await;
            step.set(None);
            match result {
                Ok(id) => navigate(&Route::Task(id)),
                Err((Some(id), e)) => {
                    navigate(&Route::Task(id));
                    ctx.notice.set(Some(e));
                }
                Err((None, e)) => ctx.notice.set(Some(e)),
            }
        });
    };

    view! {
        <section class="card">
            <h1>"Create a task"</h1>
            <div class="tabs" role="tablist">
                <button role="tab" data-testid="tab-sd" class:active=move || kind.get() == Kind::Sd
                        on:click=move |_| kind.set(Kind::Sd)>"Images (Stable Diffusion)"</button>
                <button role="tab" data-testid="tab-llm" class:active=move || kind.get() == Kind::Llm
                        on:click=move |_| kind.set(Kind::Llm)>"Text (LLM)"</button>
            </div>
            {move || match kind.get() {
                Kind::Sd => view! { <SdFields form=sd errors=errors models=models/> }.into_any(),
                Kind::Llm => view! { <LlmFields form=llm errors=errors models=models gpu=gpu/> }.into_any(),
            }}
            <Summary built=built/>
            <label class="check" data-testid="private">
                <input type="checkbox" prop:checked=move || private.get()
                       on:change=move |ev| private.set(event_target_checked(&ev))/>
                " Keep the results private (by default anyone with the task's link can see and verify them once they are in)"
            </label>
            <div class="actions">
                <button class="primary" data-testid="create"
                        disabled=move || built.with(Result::is_err) || step.get().is_some()
                        on:click=submit>
                    {move || match built.get() {
                        Ok(b) => format!("Pay {} CNX and create the task", cnx(b.fee)),
                        Err(_) => "Fix the form to continue".to_owned(),
                    }}
                </button>
                {move || step.get().map(|s| view! {
                    <span class="progress" data-testid="progress"><span class="spinner"></span>{s.words()}</span>
                })}
            </div>
        </section>
    }
}

#[component]
fn Summary(built: Memo<Result<Order, FormErrors>>) -> impl IntoView {
    move || {
        match built.get() {
        Ok(b) => view! {
            <dl class="summary">
                <dt>"Task hash"</dt>
                <dd><code data-testid="task-hash">{b.task_hash().to_string()}</code></dd>
                <dt>"Fee"</dt><dd>{cnx(b.fee)} " CNX"</dd>
                <dt>"Arguments"</dt><dd>{b.args.len()} " bytes, sent to the relay after payment"</dd>
            </dl>
        }
        .into_any(),
        Err(errors) => view! {
            <p class="form-errors" data-testid="form-errors">
                {errors.len()} " problem(s): "
                {errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ")}
            </p>
        }
        .into_any(),
    }
    }
}

/// A labelled input bound to a string field of a form signal.
fn text_input<T: Send + Sync + 'static>(
    form: RwSignal<T>,
    label: &'static str,
    field: &'static str,
    errors: Memo<FormErrors>,
    kind: &'static str,
    get: fn(&T) -> String,
    set: fn(&mut T, String),
) -> impl IntoView {
    view! {
        <label class="field" class:invalid=move || errors.with(|e| error_for(e, field).is_some())>
            <span>{label}</span>
            <input type=kind name=field data-field=field
                   prop:value=move || form.with(get)
                   on:input=move |ev| form.update(|f| set(f, event_target_value(&ev)))/>
            <FieldError errors=errors field=field/>
        </label>
    }
}

#[component]
fn FieldError(errors: Memo<FormErrors>, #[prop(into)] field: String) -> impl IntoView {
    move || {
        let field = field.clone();
        errors
            .with(|e| error_for(e, &field))
            .map(|e| view! { <small class="error" data-error-for=field>{e}</small> })
    }
}

#[component]
fn SdFields(
    form: RwSignal<SdForm>,
    errors: Memo<FormErrors>,
    models: RwSignal<Vec<(String, Layout)>>,
) -> impl IntoView {
    view! {
        <div class="form-grid">
            <label class="field wide">
                <span>"Model"</span>
                <input list="sd-models" name="model" data-field="base_model.name"
                       prop:value=move || form.with(|f| f.model.clone())
                       on:input=move |ev| form.update(|f| f.model = event_target_value(&ev))/>
                <datalist id="sd-models">
                    {move || models.get().into_iter()
                        .filter(|(_, layout)| *layout == Layout::DiffusersPipeline)
                        .map(|(name, _)| view! { <option value=name/> })
                        .collect_view()}
                </datalist>
                <FieldError errors=errors field="base_model.name"/>
            </label>
            <label class="field wide" class:invalid=move || errors.with(|e| error_for(e, "prompt").is_some())>
                <span>"Prompt"</span>
                <textarea name="prompt" data-field="prompt" rows="3"
                          prop:value=move || form.with(|f| f.prompt.clone())
                          on:input=move |ev| form.update(|f| f.prompt = event_target_value(&ev))></textarea>
                <FieldError errors=errors field="prompt"/>
                <details class="help">
                    <summary>"Prompt weighting"</summary>
                    <p><code>"word+"</code>" weighs a word ×1.1 per "<code>"+"</code>", "
                       <code>"word-"</code>" ×0.9 per "<code>"-"</code>", "
                       <code>"(several words)1.3"</code>" sets a weight. Long prompts are split into "
                       "75-token chunks, never cut."</p>
                </details>
            </label>
            <label class="field wide">
                <span>"Negative prompt"</span>
                <textarea name="negative_prompt" rows="2"
                          prop:value=move || form.with(|f| f.negative_prompt.clone())
                          on:input=move |ev| form.update(|f| f.negative_prompt = event_target_value(&ev))></textarea>
            </label>
            {text_input(form, "Width", "task_config.image_width", errors, "number", |f| f.width.clone(), |f, v| f.width = v)}
            {text_input(form, "Height", "task_config.image_height", errors, "number", |f| f.height.clone(), |f, v| f.height = v)}
            {text_input(form, "Steps", "task_config.steps", errors, "number", |f| f.steps.clone(), |f, v| f.steps = v)}
            {text_input(form, "Guidance (cfg)", "task_config.cfg", errors, "number", |f| f.cfg.clone(), |f, v| f.cfg = v)}
            {text_input(form, "Seed", "task_config.seed", errors, "number", |f| f.seed.clone(), |f, v| f.seed = v)}
            {text_input(form, "Images", "task_config.num_images", errors, "number", |f| f.num_images.clone(), |f, v| f.num_images = v)}
            <label class="field">
                <span>"Scheduler"</span>
                <select name="scheduler" on:change=move |ev| form.update(|f| f.scheduler = event_target_value(&ev))>
                    {SCHEDULERS.iter().map(|s| {
                        let name = *s;
                        view! { <option value=name selected=move || form.with(|f| f.scheduler == name)>{name}</option> }
                    }).collect_view()}
                </select>
                <FieldError errors=errors field="scheduler.method"/>
            </label>
            {text_input(form, "Minimum GPU memory (GB)", "min_vram", errors, "number", |f| f.min_vram.clone(), |f, v| f.min_vram = v)}
            {text_input(form, "Fee (CNX)", "fee", errors, "text", |f| f.fee.clone(), |f, v| f.fee = v)}
            <label class="field wide">
                <span>"LoRA (blank: none)"</span>
                <input list="lora-models" name="lora.model" data-field="lora.model"
                       prop:value=move || form.with(|f| f.lora_model.clone())
                       on:input=move |ev| form.update(|f| f.lora_model = event_target_value(&ev))/>
                <datalist id="lora-models">
                    {move || models.get().into_iter()
                        .filter(|(_, layout)| *layout == Layout::Lora)
                        .map(|(name, _)| view! { <option value=name/> })
                        .collect_view()}
                </datalist>
                <FieldError errors=errors field="lora.model"/>
            </label>
            {text_input(form, "LoRA weight file", "lora.weight_file_name", errors, "text", |f| f.lora_weight_file.clone(), |f, v| f.lora_weight_file = v)}
            {text_input(form, "LoRA strength (%)", "lora.weight", errors, "number", |f| f.lora_weight.clone(), |f, v| f.lora_weight = v)}
        </div>
    }
}

#[component]
fn LlmFields(
    form: RwSignal<LlmForm>,
    errors: Memo<FormErrors>,
    models: RwSignal<Vec<(String, Layout)>>,
    gpu: RwSignal<Option<(String, u64)>>,
) -> impl IntoView {
    let message_count = Memo::new(move |_| form.with(|f| f.messages.len()));
    let messages_view = {
        move || {
            let count = message_count.get();
            (0..count)
                .map(|i| {
                    let field = format!("messages[{i}].content");
                    view! {
                        <div class="message">
                            <select name=format!("role-{i}")
                                    on:change=move |ev| form.update(|f| if let Some(m) = f.messages.get_mut(i) { m.role = event_target_value(&ev) })>
                                {["system", "user", "assistant"].into_iter().map(|role| view! {
                                    <option value=role selected=move || form.with(|f| f.messages.get(i).is_some_and(|m| m.role == role))>{role}</option>
                                }).collect_view()}
                            </select>
                            <textarea rows="2" name=format!("message-{i}") data-field=field.clone()
                                      prop:value=move || form.with(|f| f.messages.get(i).map(|m| m.content.clone()).unwrap_or_default())
                                      on:input=move |ev| form.update(|f| if let Some(m) = f.messages.get_mut(i) { m.content = event_target_value(&ev) })></textarea>
                            <button class="link" title="Remove this message" disabled=move || count == 1
                                    on:click=move |_| form.update(|f| { if f.messages.len() > 1 { f.messages.remove(i); } })>"✕"</button>
                            <FieldError errors=errors field=field/>
                        </div>
                    }
                })
                .collect_view()
        }
    };
    view! {
        <div class="form-grid">
            <label class="field wide">
                <span>"Model"</span>
                <input list="llm-models" name="llm-model"
                       prop:value=move || form.with(|f| f.model.clone())
                       on:input=move |ev| form.update(|f| f.model = event_target_value(&ev))/>
                <datalist id="llm-models">
                    {move || models.get().into_iter()
                        .filter(|(_, layout)| *layout == Layout::Transformers)
                        .map(|(name, _)| view! { <option value=name/> })
                        .collect_view()}
                </datalist>
            </label>
            <div class="field wide">
                <span>"Messages"</span>
                {messages_view}
                <button class="link" on:click=move |_| form.update(|f| f.messages.push(MessageForm { role: "user".into(), content: String::new() }))>
                    "+ Add a message"
                </button>
            </div>
            {text_input(form, "Max new tokens", "generation_config.max_new_tokens", errors, "number", |f| f.max_new_tokens.clone(), |f, v| f.max_new_tokens = v)}
            <label class="field check">
                <input type="checkbox" prop:checked=move || form.with(|f| f.do_sample)
                       on:change=move |ev| form.update(|f| f.do_sample = event_target_checked(&ev))/>
                <span>"Sample (otherwise greedy)"</span>
            </label>
            {text_input(form, "Temperature", "generation_config.temperature", errors, "text", |f| f.temperature.clone(), |f, v| f.temperature = v)}
            {text_input(form, "Top p", "generation_config.top_p", errors, "text", |f| f.top_p.clone(), |f, v| f.top_p = v)}
            {text_input(form, "Top k", "generation_config.top_k", errors, "text", |f| f.top_k.clone(), |f, v| f.top_k = v)}
            {text_input(form, "Repetition penalty", "generation_config.repetition_penalty", errors, "text", |f| f.repetition_penalty.clone(), |f, v| f.repetition_penalty = v)}
            {text_input(form, "Min p", "generation_config.min_p", errors, "text", |f| f.min_p.clone(), |f, v| f.min_p = v)}
            <label class="field" class:invalid=move || errors.with(|e| error_for(e, "generation_config.stop_strings").is_some())>
                <span>"Stop strings (one per line)"</span>
                <textarea rows="2" name="generation_config.stop_strings" data-field="generation_config.stop_strings"
                          prop:value=move || form.with(|f| f.stop_strings.clone())
                          on:input=move |ev| form.update(|f| f.stop_strings = event_target_value(&ev))></textarea>
                <FieldError errors=errors field="generation_config.stop_strings"/>
            </label>
            {text_input(form, "Seed", "seed", errors, "number", |f| f.seed.clone(), |f, v| f.seed = v)}
            {text_input(form, "Fee (CNX)", "fee", errors, "text", |f| f.fee.clone(), |f, v| f.fee = v)}
            <p class="field wide hint">
                {move || match gpu.get() {
                    Some((name, vram)) => format!("Runs on three nodes with the same GPU: {name}, {vram} GB (text results must match exactly)."),
                    None => "Looking for a GPU group with three nodes…".to_owned(),
                }}
                <FieldError errors=errors field="gpu"/>
            </p>
        </div>
    }
}

/// Pays for `order` and hands it to the network with the requester's flow.
async fn submit(
    config: &crate::config::AppConfig,
    wallet: &crate::wallet::Wallet,
    order: &Order,
    progress: impl Fn(Step),
) -> Result<alloy::primitives::U256, (Option<alloy::primitives::U256>, crate::error::AppError)> {
    let fail = |e: crate::error::AppError| (None, e);
    wallet
        .ensure_chain(config)
        .await
        .map_err(|e| fail(e.into()))?;
    let requester = crate::requests::requester(config, wallet).map_err(fail)?;
    requester
        .submit(order, progress)
        .await
        .map_err(|(id, e)| (id, e.into()))
}
