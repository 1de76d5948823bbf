//! What WeChat for Android and WeChat for iOS have in common: the type
//! codes, the text and XML bodies of messages (read into the canonical
//! model and written back in WeChat's closest native form), and media
//! lookups inside an account folder. The two adapters differ in where rows
//! and files live, not in what a message says.

pub mod codes;
pub mod media;
pub mod read;
pub mod write;
pub mod xml;

/// Entry points for the fuzz targets in fuzz/ (not an API).
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::read::fuzz_content as content;

    #[cfg(test)]
    mod tests {
        #[test]
        fn the_wechat_xml_corpus_passes() {
            chatferry_core::fuzzing::smoke("wechat_xml", super::content);
        }
    }
}
