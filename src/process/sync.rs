//! The runtime ↔ init channel: a SOCK_SEQPACKET socketpair carrying one typed message
//! per packet (JSON), optionally with one fd attached (SCM_RIGHTS). Packets keep message
//! boundaries, and a closed peer reads as EOF, so a dead init is noticed at once.

use nix::sys::socket::{self, ControlMessage, ControlMessageOwned, MsgFlags};
use serde::{Deserialize, Serialize};
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Largest message: an error text or a state JSON with large annotations. Lengths are
/// checked, never truncated (CVE-2021-43784 was a truncated length in runc's protocol).
const MAX_MSG: usize = 1 << 20;

#[derive(Debug, Serialize, Deserialize)]
pub enum Msg {
    /// Runtime → init: continue. Carries the OCI state JSON once the init's pid is final.
    Go(Option<String>),
    /// Init → runtime (only when the init creates its user namespace itself): write the
    /// uid/gid maps of my user namespace now.
    MapsNeeded,
    /// Init → runtime: this is the real init (pidfd attached); I exit now.
    InitForked,
    /// Init → runtime: the rootfs is prepared; run the prestart and createRuntime hooks.
    RunRuntimeHooks,
    /// Init → runtime: the pty master (attached), for `run` without a console socket.
    ConsoleMaster,
    /// Init → runtime: waiting at the barrier.
    Ready,
    /// Runtime → init (`run`, which starts the container itself): pass the barrier; the
    /// state JSON is for the startContainer hooks.
    Start(String),
    /// Init → runtime: setup failed.
    Error(String),
}

pub struct Channel {
    fd: OwnedFd,
}

impl Channel {
    pub fn pair() -> std::io::Result<(Channel, Channel)> {
        let (a, b) = socket::socketpair(
            socket::AddressFamily::Unix,
            socket::SockType::SeqPacket,
            None,
            socket::SockFlag::SOCK_CLOEXEC,
        )
        .map_err(std::io::Error::from)?;
        Ok((Channel { fd: a }, Channel { fd: b }))
    }

    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    pub fn send(&self, msg: &Msg) -> std::io::Result<()> {
        self.send_fd(msg, None)
    }

    pub fn send_fd(&self, msg: &Msg, fd: Option<RawFd>) -> std::io::Result<()> {
        let data = serde_json::to_vec(msg).map_err(std::io::Error::other)?;
        if data.len() > MAX_MSG {
            return Err(std::io::Error::other(format!(
                "sync message of {} bytes is too large",
                data.len()
            )));
        }
        let iov = [IoSlice::new(&data)];
        let fds = fd.map(|f| [f]);
        let cmsgs: Vec<ControlMessage> = fds
            .as_ref()
            .map(|f| ControlMessage::ScmRights(f))
            .into_iter()
            .collect();
        loop {
            match socket::sendmsg::<()>(
                self.fd.as_raw_fd(),
                &iov,
                &cmsgs,
                MsgFlags::MSG_NOSIGNAL,
                None,
            ) {
                Ok(_) => return Ok(()),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Receives one message; `None` when the peer has closed its end.
    pub fn recv(&self) -> std::io::Result<Option<(Msg, Option<OwnedFd>)>> {
        self.recv_flags(MsgFlags::empty())
    }

    /// An error the init already reported, if one is waiting (does not block). When a
    /// step of the runtime fails because the init has died, this is the real reason.
    pub fn pending_error(&self) -> Option<String> {
        match self.recv_flags(MsgFlags::MSG_DONTWAIT) {
            Ok(Some((Msg::Error(msg), _))) => Some(msg),
            _ => None,
        }
    }

    fn recv_flags(&self, extra: MsgFlags) -> std::io::Result<Option<(Msg, Option<OwnedFd>)>> {
        let mut buf = vec![0u8; MAX_MSG];
        let mut cmsg_space = nix::cmsg_space!([RawFd; 1]);
        let (len, fd) = loop {
            let mut iov = [IoSliceMut::new(&mut buf)];
            match socket::recvmsg::<()>(
                self.fd.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg_space),
                MsgFlags::MSG_CMSG_CLOEXEC | extra,
            ) {
                Ok(r) => {
                    if r.flags.contains(MsgFlags::MSG_TRUNC) {
                        return Err(std::io::Error::other("sync message truncated"));
                    }
                    let mut fd = None;
                    for c in r.cmsgs().map_err(std::io::Error::from)? {
                        if let ControlMessageOwned::ScmRights(fds) = c {
                            for (i, raw) in fds.into_iter().enumerate() {
                                // SAFETY: the kernel installed these fds for us; we own them.
                                let owned = unsafe { OwnedFd::from_raw_fd(raw) };
                                if i == 0 {
                                    fd = Some(owned);
                                }
                            }
                        }
                    }
                    break (r.bytes, fd);
                }
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        };
        if len == 0 {
            return Ok(None);
        }
        let msg = serde_json::from_slice(&buf[..len]).map_err(std::io::Error::other)?;
        Ok(Some((msg, fd)))
    }
}
