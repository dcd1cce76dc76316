//! Reading the forms of the member pages as a browser submits them.

/// Hidden inputs and checked checkboxes of a page's form, in document order, values unescaped.
pub fn form_fields(body: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    for chunk in body.split("<input").skip(1) {
        let tag = chunk.split('>').next().unwrap_or("");
        let attr = |name: &str| {
            tag.split(&format!("{name}=\""))
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .map(unescape)
        };
        let kind = attr("type").unwrap_or_default();
        if kind == "hidden" || (kind == "checkbox" && tag.contains("checked")) {
            if let (Some(n), Some(v)) = (attr("name"), attr("value")) {
                fields.push((n, v));
            }
        }
    }
    fields
}

/// The value of the (hidden or checked) form field `name`, if the page has one.
pub fn form_field(body: &str, name: &str) -> Option<String> {
    form_fields(body)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// Undoes HTML escaping of attribute values (named and numeric character references).
pub fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let Some(end) = tail.find(';') else {
            out.push_str(tail);
            return out;
        };
        let entity = &tail[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => out.push(c),
            None => out.push_str(&tail[..=end]),
        }
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_reads_hidden_and_checked_inputs() {
        let html = r#"<form><input type="hidden" name="csrf_token" value="a&amp;b&#x2F;c">
            <input type="checkbox" name="scope" value="transition:email" checked>
            <input type="checkbox" name="scope" value="other">
            <input type="text" name="identifier" value="x"></form>"#;
        assert_eq!(
            form_fields(html),
            vec![
                ("csrf_token".to_string(), "a&b/c".to_string()),
                ("scope".to_string(), "transition:email".to_string()),
            ]
        );
        assert_eq!(form_field(html, "csrf_token").as_deref(), Some("a&b/c"));
        assert_eq!(form_field(html, "identifier"), None);
    }

    #[test]
    fn unknown_and_unterminated_references_stay_as_written() {
        assert_eq!(unescape("&#39;&lt;&nbsp;&amp"), "'<&nbsp;&amp");
    }
}
