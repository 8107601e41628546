//! What every accepted connection is held to (finding 8 of the hardening issue): a cap on the
//! connections served at once, a deadline for a request's headers, and an idle timeout between
//! the requests of a keep-alive connection. axum-server turns hyper's header-read timeout off,
//! and hyper's (when on) also bounds the wait between keep-alive requests with the same figure;
//! these two rules need their own figures, so they are kept here, on the connection's stream.
//!
//! - **Cap.** The accept loop asks for a slot before it serves a connection it accepted
//!   ([`Capped`]); at the cap it stops accepting until a connection ends, so further clients wait
//!   in the kernel's accept queue (bounded by the listen backlog) rather than being refused: a
//!   burst just over the cap is served a moment later, and what the cap protects (file
//!   descriptors, tasks, buffers) is never spent on the waiting ones.
//! - **Header read.** From a request's first byte (for the first request, from the end of the
//!   TLS handshake or the accept) to its last header line: `server.header_read_timeout_secs`.
//! - **Idle.** From the end of a request to the first byte of the next:
//!   `server.idle_timeout_secs`.
//!
//! A connection over its deadline is closed (its next read fails with `TimedOut`).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum_server::accept::Accept;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{AcquireError, OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};
use tower::Service;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Requests in flight on one connection, and how many it has answered, shared by its service and
/// its stream. (A request may be answered between two reads of the stream, so the stream learns
/// that a request ended from the count, not from having seen it in flight.)
#[derive(Default)]
pub struct Activity {
    in_flight: AtomicUsize,
    answered: AtomicU64,
}

impl Activity {
    fn busy(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) > 0
    }

    fn answered(&self) -> u64 {
        self.answered.load(Ordering::Acquire)
    }
}

/// Counts a request in flight until dropped (when its response is ready, or it is cancelled).
struct InFlight(Arc<Activity>);

impl InFlight {
    fn begin(activity: &Arc<Activity>) -> InFlight {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(activity.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.answered.fetch_add(1, Ordering::AcqRel);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The make-service of a listener, holding each connection to a slot of `slots`.
pub struct Capped<M> {
    inner: M,
    slots: Arc<Semaphore>,
    permit: Option<OwnedSemaphorePermit>,
    acquiring: Option<BoxFuture<Result<OwnedSemaphorePermit, AcquireError>>>,
}

impl<M> Capped<M> {
    pub fn new(inner: M, max_connections: usize) -> Capped<M> {
        Capped { inner, slots: Arc::new(Semaphore::new(max_connections)), permit: None, acquiring: None }
    }
}

impl<M, T> Service<T> for Capped<M>
where
    M: Service<T>,
    M::Future: Send + 'static,
{
    type Response = Guarded<M::Response>;
    type Error = M::Error;
    type Future = BoxFuture<Result<Guarded<M::Response>, M::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if self.permit.is_none() {
            let slots = &self.slots;
            let acquiring = self.acquiring.get_or_insert_with(|| Box::pin(slots.clone().acquire_owned()));
            match acquiring.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                // The semaphore is never closed; were it, the connection is served uncounted.
                Poll::Ready(permit) => {
                    self.permit = permit.ok();
                    self.acquiring = None;
                }
            }
        }
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, target: T) -> Self::Future {
        let permit = self.permit.take().map(Arc::new);
        let making = self.inner.call(target);
        Box::pin(async move {
            let inner = making.await?;
            Ok(Guarded { inner, _slot: permit, activity: Arc::default() })
        })
    }
}

/// A connection's service: holds its slot for as long as any clone lives (the connection), and
/// counts its requests in flight.
#[derive(Clone)]
pub struct Guarded<S> {
    inner: S,
    _slot: Option<Arc<OwnedSemaphorePermit>>,
    activity: Arc<Activity>,
}

impl<S, R> Service<R> for Guarded<S>
where
    S: Service<R>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        let in_flight = InFlight::begin(&self.activity);
        let answering = self.inner.call(request);
        Box::pin(async move {
            let answer = answering.await;
            drop(in_flight);
            answer
        })
    }
}

/// The deadlines of a connection's reads.
#[derive(Clone, Copy, Debug)]
pub struct Deadlines {
    pub header_read: Duration,
    pub idle: Duration,
}

/// Wraps an acceptor (plain or TLS) so the stream it yields keeps [`Deadlines`].
#[derive(Clone)]
pub struct TimedAcceptor<A> {
    inner: A,
    deadlines: Deadlines,
}

impl<A> TimedAcceptor<A> {
    pub fn new(inner: A, deadlines: Deadlines) -> TimedAcceptor<A> {
        TimedAcceptor { inner, deadlines }
    }
}

impl<I, S, A> Accept<I, Guarded<S>> for TimedAcceptor<A>
where
    A: Accept<I, Guarded<S>>,
    A::Future: Send + 'static,
{
    type Stream = TimedIo<A::Stream>;
    type Service = A::Service;
    type Future = BoxFuture<io::Result<(Self::Stream, Self::Service)>>;

    fn accept(&self, stream: I, service: Guarded<S>) -> Self::Future {
        let activity = service.activity.clone();
        let deadlines = self.deadlines;
        let accepting = self.inner.accept(stream, service);
        Box::pin(async move {
            let (stream, service) = accepting.await?;
            Ok((TimedIo::new(stream, activity, deadlines), service))
        })
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    /// Reading a request's headers: the header-read deadline runs.
    Head,
    /// A request is being answered: no deadline here (`server.request_timeout_secs` bounds it).
    Busy,
    /// Between requests: the idle deadline runs.
    Idle,
}

/// A connection's stream that fails its reads once the current deadline has passed.
pub struct TimedIo<S> {
    inner: S,
    activity: Arc<Activity>,
    deadlines: Deadlines,
    phase: Phase,
    deadline: Pin<Box<Sleep>>,
    /// The requests answered when the stream last looked.
    answered: u64,
}

impl<S> TimedIo<S> {
    fn new(inner: S, activity: Arc<Activity>, deadlines: Deadlines) -> TimedIo<S> {
        let deadline = Box::pin(tokio::time::sleep(deadlines.header_read));
        TimedIo { inner, activity, deadlines, phase: Phase::Head, deadline, answered: 0 }
    }

    fn start(&mut self, phase: Phase, within: Duration) {
        self.phase = phase;
        self.deadline.as_mut().reset(Instant::now() + within);
    }
}

fn timed_out(phase: Phase) -> io::Error {
    let what = match phase {
        Phase::Idle => "idle keep-alive connection closed (server.idle_timeout_secs)",
        _ => "request headers not received in time (server.header_read_timeout_secs)",
    };
    io::Error::new(io::ErrorKind::TimedOut, what)
}

impl<S: AsyncRead + Unpin> AsyncRead for TimedIo<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.activity.busy() {
            this.phase = Phase::Busy;
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        let answered = this.activity.answered();
        if answered != this.answered {
            // A request has been answered since: the connection is idle until a byte comes.
            this.answered = answered;
            let idle = this.deadlines.idle;
            this.start(Phase::Idle, idle);
        }
        if this.deadline.is_elapsed() {
            return Poll::Ready(Err(timed_out(this.phase)));
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if this.phase == Phase::Idle && buf.filled().len() > before {
                    let header_read = this.deadlines.header_read;
                    this.start(Phase::Head, header_read);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(timed_out(this.phase))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TimedIo<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
