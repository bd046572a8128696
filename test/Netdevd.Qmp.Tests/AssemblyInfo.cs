// These tests drive unix sockets, file modes and SCM_RIGHTS: Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
