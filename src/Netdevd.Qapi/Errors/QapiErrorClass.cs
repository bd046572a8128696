namespace Netdevd.Qapi.Errors;

/// <summary>QMP error classes (QEMU's QapiErrorClass). Names are emitted as they are spelled here.</summary>
public enum QapiErrorClass
{
    GenericError,
    CommandNotFound,
    DeviceNotActive,
    DeviceNotFound,
    KVMMissingCap,
}
