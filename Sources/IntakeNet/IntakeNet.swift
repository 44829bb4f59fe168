// IntakeNet: sockets, epoll event loops and connections with bounded buffers.
import CIntakeLinux
