//! Errors carried as text: in reports, notes and records that say why something failed.

/// An error and its causes joined the way the binary renders them (`a: b: c`), each cause said
/// once: a cause whose text its parent already includes is left out.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{text}")]
    struct Layer {
        text: &'static str,
        #[source]
        source: Option<Box<Layer>>,
    }

    #[test]
    fn causes_are_joined_and_said_once() {
        let inner = Layer { text: "connection refused", source: None };
        let middle = Layer { text: "cannot reach 127.0.0.1:5000: connection refused", source: Some(Box::new(inner)) };
        let outer = Layer { text: "pushing the index", source: Some(Box::new(middle)) };
        assert_eq!(chain(&outer), "pushing the index: cannot reach 127.0.0.1:5000: connection refused");
    }
}
