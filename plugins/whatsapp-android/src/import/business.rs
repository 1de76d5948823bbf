//! Message types of 2023–2026 stores that keep their content in tables of
//! their own: business products (type 23, `message_product`), orders and
//! carts (44, `message_order`), interactive messages (85,
//! `message_ui_elements`), and albums (99, `message_album`, whose photos
//! point at them through `message_association`).
//!
//! No other app has these, and the 2.22 schema our exporter writes has no
//! rows for them either, so each is read as its closest common kind (the
//! product or order photo as an image, an interactive message as a text)
//! with a body that states what it was, and its fields kept in `extras`.

use chatferry_core::{Extras, MessageKind};

/// The codes this module reads (`message.message_type`).
pub const PRODUCT: i64 = 23;
pub const ORDER: i64 = 44;
pub const INTERACTIVE: i64 = 85;
pub const ALBUM: i64 = 99;

/// Whether this type is read here and written back as its closest common
/// kind (its own code would need side rows no writer makes).
pub fn is_business(message_type: i64) -> bool {
    matches!(message_type, PRODUCT | ORDER | INTERACTIVE)
}

/// The kind a business message is read as: the photo it carries, else text.
pub fn kind(has_file: bool) -> MessageKind {
    if has_file {
        MessageKind::Image
    } else {
        MessageKind::Text
    }
}

/// `message_product`'s columns that a person sees.
#[derive(Debug, Default)]
pub struct Product {
    pub title: Option<String>,
    pub description: Option<String>,
    pub currency: Option<String>,
    pub amount_1000: Option<i64>,
    pub sale_amount_1000: Option<i64>,
    pub product_id: Option<String>,
    pub retailer_id: Option<String>,
    pub url: Option<String>,
    pub body: Option<String>,
    pub footer: Option<String>,
}

/// `message_order`'s columns that a person sees.
#[derive(Debug, Default)]
pub struct Order {
    pub title: Option<String>,
    pub item_count: Option<i64>,
    pub currency: Option<String>,
    pub total_1000: Option<i64>,
    pub order_id: Option<String>,
    pub message: Option<String>,
    pub status: Option<i64>,
}

fn some(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// An amount kept in thousandths (`amount_1000`) as a decimal with at
/// least two places: 10990 → `10.99`, 1500 → `1.50`, 1234 → `1.234`.
pub fn amount(thousandths: i64) -> String {
    let sign = if thousandths < 0 { "-" } else { "" };
    let v = thousandths.unsigned_abs();
    let mut frac = format!("{:03}", v % 1000);
    if frac.ends_with('0') {
        frac.pop();
    }
    format!("{sign}{}.{frac}", v / 1000)
}

fn price(thousandths: Option<i64>, currency: &Option<String>) -> Option<String> {
    let a = thousandths.filter(|a| *a > 0)?;
    Some(match some(currency) {
        Some(c) => format!("{} {c}", amount(a)),
        None => amount(a),
    })
}

fn put(extras: &mut Extras, key: &str, value: Option<String>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        extras.insert(key.into(), v);
    }
}

impl Product {
    /// `🛍 Title`, then the description, the price, the link, each on a line.
    pub fn text(&self) -> String {
        let mut lines = vec![format!("🛍 {}", some(&self.title).unwrap_or("Product"))];
        lines.extend(some(&self.description).map(String::from));
        lines.extend(some(&self.body).map(String::from));
        match (price(self.sale_amount_1000, &self.currency), price(self.amount_1000, &self.currency)) {
            (Some(sale), Some(full)) => lines.push(format!("{sale} (was {full})")),
            (Some(p), None) | (None, Some(p)) => lines.push(p),
            (None, None) => {}
        }
        lines.extend(some(&self.url).map(String::from));
        lines.extend(some(&self.footer).map(String::from));
        lines.join("\n")
    }

    pub fn keep(self, extras: &mut Extras) {
        put(extras, "wa.product.title", self.title);
        put(extras, "wa.product.description", self.description);
        put(extras, "wa.product.currency", self.currency);
        put(extras, "wa.product.amount_1000", self.amount_1000.map(|a| a.to_string()));
        put(extras, "wa.product.sale_amount_1000", self.sale_amount_1000.map(|a| a.to_string()));
        put(extras, "wa.product.id", self.product_id);
        put(extras, "wa.product.retailer_id", self.retailer_id);
        put(extras, "wa.product.url", self.url);
        put(extras, "wa.product.body", self.body);
        put(extras, "wa.product.footer", self.footer);
    }
}

impl Order {
    /// `🛒 Order: Title (3 items), total 12.50 EUR`, then the buyer's note.
    pub fn text(&self) -> String {
        let mut s = format!("🛒 Order: {}", some(&self.title).unwrap_or("(untitled)"));
        if let Some(n) = self.item_count.filter(|n| *n > 0) {
            s.push_str(&format!(" ({n} item{})", if n == 1 { "" } else { "s" }));
        }
        if let Some(total) = price(self.total_1000, &self.currency) {
            s.push_str(&format!(", total {total}"));
        }
        if let Some(m) = some(&self.message) {
            s.push('\n');
            s.push_str(m);
        }
        s
    }

    pub fn keep(self, extras: &mut Extras) {
        put(extras, "wa.order.title", self.title);
        put(extras, "wa.order.item_count", self.item_count.map(|n| n.to_string()));
        put(extras, "wa.order.currency", self.currency);
        put(extras, "wa.order.total_1000", self.total_1000.map(|a| a.to_string()));
        put(extras, "wa.order.id", self.order_id);
        put(extras, "wa.order.message", self.message);
        put(extras, "wa.order.status", self.status.map(|s| s.to_string()));
    }
}

/// Larger `element_content` documents are kept as they are, not parsed.
const MAX_UI_JSON: usize = 256 * 1024;

/// What an interactive message shows: from each `message_ui_elements` row
/// (content JSON, description, footer, button text), its title, subtitle,
/// description, and each button as `text: link`.
pub fn interactive_text(elements: &[(Option<String>, Option<String>, Option<String>, Option<String>)]) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut push = |s: &str| {
        let s = s.trim();
        if !s.is_empty() && !lines.iter().any(|l| l == s) {
            lines.push(s.to_string());
        }
    };
    for (content, description, footer, button) in elements {
        let json = content
            .as_deref()
            .filter(|c| c.len() <= MAX_UI_JSON)
            .and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok());
        match (&json, content) {
            (Some(v), _) => {
                for key in ["title", "sub_title", "description"] {
                    if let Some(s) = v.get(key).and_then(|s| s.as_str()) {
                        push(s);
                    }
                }
                let buttons = v.pointer("/native_flow_content/buttons").and_then(|b| b.as_array());
                for b in buttons.into_iter().flatten() {
                    let params = b
                        .get("params")
                        .and_then(|p| p.as_str())
                        .filter(|p| p.len() <= MAX_UI_JSON)
                        .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok());
                    let text = params.as_ref().and_then(|p| p.get("display_text")).and_then(|t| t.as_str());
                    let url = params.as_ref().and_then(|p| p.get("url")).and_then(|t| t.as_str());
                    match (text, url) {
                        (Some(t), Some(u)) => push(&format!("{t}: {u}")),
                        (Some(t), None) => push(t),
                        (None, Some(u)) => push(u),
                        (None, None) => {}
                    }
                }
            }
            (None, Some(raw)) => push(raw),
            (None, None) => {}
        }
        for s in [description, footer, button].into_iter().flatten() {
            push(s);
        }
    }
    if lines.is_empty() {
        "[interactive message]".into()
    } else {
        lines.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_keep_their_thousandths() {
        assert_eq!(amount(10990), "10.99");
        assert_eq!(amount(1500), "1.50");
        assert_eq!(amount(1234), "1.234");
        assert_eq!(amount(0), "0.00");
        assert_eq!(amount(-2000), "-2.00");
    }

    #[test]
    fn products_and_orders_state_what_they_were() {
        let p = Product {
            title: Some("Item Title".into()),
            description: Some("Item Description".into()),
            currency: Some("USD".into()),
            amount_1000: Some(12500),
            ..Default::default()
        };
        assert_eq!(p.text(), "🛍 Item Title\nItem Description\n12.50 USD");
        let o = Order { title: Some("Order Title".into()), item_count: Some(1), ..Default::default() };
        assert_eq!(o.text(), "🛒 Order: Order Title (1 item)");
    }

    #[test]
    fn interactive_messages_show_their_text_and_buttons() {
        let json = r#"{"title":"","description":"Line 1\nLine 2","native_flow_content":{"buttons":[{"name":"cta_url","params":"{\"display_text\":\"Open\",\"url\":\"https://example.org/x\"}"}]}}"#;
        let text = interactive_text(&[(Some(json.into()), None, None, None)]);
        assert_eq!(text, "Line 1\nLine 2\nOpen: https://example.org/x");
        assert_eq!(interactive_text(&[(Some("not json".into()), None, None, None)]), "not json");
        assert_eq!(interactive_text(&[]), "[interactive message]");
    }
}
