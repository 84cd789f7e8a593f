//! AXL
/// placeholder
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AxlFault;
impl std::fmt::Display for AxlFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "x")
    }
}
