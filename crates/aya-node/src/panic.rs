//! Panics stay inside the crate: a quiet hook records a short description of a panic, and
//! the code that catches it (at the FFI boundary) turns that into an error's text.

thread_local! {
    /// Where the last panic on this thread happened, recorded by [`quiet_panic_hook`].
    static LAST_PANIC: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Replaces the default panic hook (which prints the payload, possibly kilobytes of it, to
/// stderr) with one that only records a short description; the panic is caught at the FFI
/// boundary and becomes an `EbpfError` that carries it.
pub fn quiet_panic_hook() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let mut text = payload_text(info.payload());
            if text.len() > 300 {
                let mut end = 300;
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                text.truncate(end);
                text.push('…');
            }
            if let Some(location) = info.location() {
                text = format!("{text} at {}:{}", location.file(), location.line());
            }
            LAST_PANIC.with(|last| *last.borrow_mut() = Some(text));
        }));
    });
}

/// The text of a caught panic: what the hook recorded, else the payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(recorded) = LAST_PANIC.with(|last| last.borrow_mut().take()) {
        return format!("internal error: {recorded}");
    }
    payload_text(payload)
}

fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "internal panic".to_string())
}
