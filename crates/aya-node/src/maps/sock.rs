//! Socket maps (`sockmap`, `sockhash`) and XSK maps: a slot is set with a socket's fd; the
//! kernel stores the socket (reading a sockmap slot back gives the socket's cookie).

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

use super::handle::{borrow, MapHandle};
use crate::sys::map as sys;
use crate::error::{Code, NodeError};

#[napi]
impl MapHandle {
    /// Stores the socket with file descriptor `socket_fd` at `key`.
    #[napi]
    pub fn set_socket(&self, key: Buffer, socket_fd: i32, flags: u32) -> napi::Result<()> {
        self.check_key(&key)?;
        if socket_fd < 0 {
            return Err(NodeError::new(Code::InvalidArgument, format!("{socket_fd} is not a file descriptor")).into());
        }
        // The value is the fd, as wide as the map's values (4 or 8 bytes).
        let value: Vec<u8> = match self.info.value_size {
            8 => (socket_fd as u64).to_ne_bytes().to_vec(),
            _ => (socket_fd as u32).to_ne_bytes().to_vec(),
        };
        let guard = self.fd()?;
        sys::update(borrow(&guard)?, Some(&key), &value, flags as u64).map_err(NodeError::from)?;
        Ok(())
    }
}
