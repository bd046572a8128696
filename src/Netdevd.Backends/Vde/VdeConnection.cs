namespace Netdevd.Backends.Vde;

/// <summary>An open vde port: the control stream (held open for the port's lifetime) and the data socket.</summary>
/// <param name="ControlFd">The stream connected to the switch's ctl socket; closing it frees the port.</param>
/// <param name="DataFd">The datagram socket connected to the switch's data socket for this port.</param>
internal readonly record struct VdeConnection(int ControlFd, int DataFd);
