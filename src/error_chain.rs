//! One line for an error and every error beneath it (`connect failed: dns error: no record`):
//! HTTP clients wrap the useful cause several levels down, and a user needs that cause.

pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
