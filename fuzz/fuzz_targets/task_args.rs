//! `verifier::args`: parsing and validating SD and LLM task arguments (the JSON a requester
//! stores and every node reads). The first byte picks the task type; the rest is the JSON.

use verifier::args::{LlmTaskArgs, SdTaskArgs, TaskArgs, TaskType};

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Some((&kind, json)) = data.split_first() else {
            return;
        };
        let kind = TaskType::try_from(kind & 1).expect("0 and 1 are task types");
        if let Ok(args) = TaskArgs::parse(kind, json) {
            assert_eq!(args.task_type(), kind);
        }
        // The typed parsers, and what callers derive from parsed arguments.
        match kind {
            TaskType::StableDiffusion => {
                if let Ok(args) = SdTaskArgs::parse(json) {
                    let _ = args.validate();
                    let _ = (args.steps(), args.scheduler_method().as_str());
                    if let Some(lora) = &args.lora {
                        let _ = lora.weight_fraction();
                    }
                }
            }
            TaskType::Llm => {
                if let Ok(args) = LlmTaskArgs::parse(json) {
                    let _ = args.validate();
                    let _ = args.generation();
                }
            }
        }
    });
}
