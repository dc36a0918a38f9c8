namespace Moe.Model.Backend;

/// <summary>The torch native backend could not be loaded or the device is unusable; the message is one line.</summary>
public sealed class TorchBackendException(string message, Exception? inner = null) : Exception(message, inner);
