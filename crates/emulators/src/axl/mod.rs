//! CUCM AXL SOAP emulator (in progress).
