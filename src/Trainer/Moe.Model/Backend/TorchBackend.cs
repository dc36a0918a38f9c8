using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using TorchSharp;

namespace Moe.Model.Backend;

/// <summary>
/// Loads TorchSharp's native backend once per process: the packaged CPU libtorch, or for CUDA an existing
/// libtorch (e.g. PyTorch's torch/lib) loaded in dependency order before TorchSharp looks for it.
/// Every failure becomes a one-line <see cref="TorchBackendException"/> naming the library and the reason.
/// </summary>
public static class TorchBackend
{
    const string TorchSharpNative = "libLibTorchSharp.so";
    static readonly string[] CpuLoadOrder = ["libtorch_cpu.so", "libtorch.so"];
    static readonly string[] CpuFromExternalOrder = ["libc10.so", "libtorch_cpu.so", "libtorch.so"];
    static readonly string[] CudaLoadOrder = ["libc10.so", "libtorch_cpu.so", "libc10_cuda.so", "libtorch_cuda.so", "libtorch.so"];
    static readonly Lock Gate = new();
    static DeviceType? initialized;
    static string? libtorchLocation;

    /// <summary>Parses "cpu", "cuda" or "cuda:N" (N >= 0).</summary>
    public static DeviceSpec ParseDevice(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var t = text.Trim();
        if (t == "cpu") return new DeviceSpec(DeviceType.CPU, -1);
        if (t == "cuda") return new DeviceSpec(DeviceType.CUDA, 0);
        if (t.StartsWith("cuda:", StringComparison.Ordinal) && t.Length > 5 && t[5..].All(char.IsAsciiDigit)
            && int.TryParse(t[5..], NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            return new DeviceSpec(DeviceType.CUDA, index);
        throw new ArgumentException($"unknown device '{text}': expected cpu, cuda or cuda:N with N >= 0");
    }

    /// <summary>Initialises TorchSharp for the device (once; later calls only check the device) and returns it.</summary>
    public static torch.Device Initialize(string device = "cpu", string? libtorchDir = null)
    {
        var spec = ParseDevice(device);
        lock (Gate)
        {
            if (initialized is null)
            {
                if (spec.Type == DeviceType.CUDA) InitializeCuda(libtorchDir);
                else InitializeCpu(libtorchDir);
                initialized = spec.Type;
            }
            else if (initialized == DeviceType.CPU && spec.Type == DeviceType.CUDA)
            {
                throw new TorchBackendException("TorchSharp is already initialised with the CPU libtorch in this process; start a new process for cuda");
            }
            if (spec.Type == DeviceType.CUDA)
            {
                var count = torch.cuda.device_count();
                if (spec.Index >= count)
                    throw new TorchBackendException($"device {spec} requested but {count} CUDA device(s) are visible (libtorch {libtorchLocation})");
            }
            return spec.ToTorch();
        }
    }

    /// <summary>One line: backend, libtorch location, intra-op threads, CUDA device count.</summary>
    public static string Describe()
    {
        lock (Gate)
        {
            if (initialized is null) return "not initialised";
            var cudaDevices = initialized == DeviceType.CUDA ? torch.cuda.device_count() : 0;
            return $"{(initialized == DeviceType.CUDA ? "cuda" : "cpu")}, libtorch {libtorchLocation ?? "(resolved by TorchSharp)"}, "
                + $"{torch.get_num_threads()} threads, {cudaDevices} CUDA device(s)";
        }
    }

    /// <summary>Tries to dlopen a library by path; null if it loads, else the loader's reason on one line.</summary>
    public static string? ProbeLoad(string path)
    {
        try
        {
            NativeLibrary.Load(path);
            return null;
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
        {
            return LoaderReason(e);
        }
    }

    /// <summary>
    /// Throws when the library needs a non-weak libstdc++ version this host's libstdc++ lacks: the loader would
    /// refuse it, and TorchSharp would then report a misleading missing-package error.
    /// </summary>
    public static void CheckLibStdCxx(string library)
    {
        if (!OperatingSystem.IsLinux() || !File.Exists(library)) return;
        var host = ElfVersionNeeds.FindHostLibStdCxx();
        if (host is null) return;
        IReadOnlyList<string> missing;
        string? highest;
        try
        {
            missing = ElfVersionNeeds.MissingStrongNeeds(library, host);
            highest = ElfVersionNeeds.HighestGlibcxx(ElfVersionNeeds.ReadDefinitions(host));
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            return; // unreadable: let the loader report it
        }
        if (missing.Count > 0)
            throw new TorchBackendException($"{Path.GetFileName(library)} needs {string.Join(", ", missing)} but {host} provides up to "
                + $"{highest ?? "no GLIBCXX version"}; rebuild so build/TorchSharpNative.targets marks it weak");
    }

    // Loads the libraries ourselves first: TorchSharp reports any failure as a missing package reference and then
    // copies ~500 MB of NuGet natives beside the app as a fallback; our own dlopen gives the real reason instead.
    static void InitializeCpu(string? libtorchDir)
    {
        if (OperatingSystem.IsLinux())
        {
            var sharp = FindBesideApp(TorchSharpNative)
                ?? throw new TorchBackendException($"{TorchSharpNative} not found in {string.Join(" or ", NativeDirs())}: build with the TorchSharp package");
            CheckLibStdCxx(sharp);
            string dir;
            string[] order;
            if (FindBesideApp("libtorch_cpu.so") is { } packaged)
            {
                dir = Path.GetDirectoryName(packaged)!;
                order = CpuLoadOrder;
            }
            else if (ExplicitLibtorchDir(libtorchDir) is { } external)
            {
                dir = external;
                order = CpuFromExternalOrder;
            }
            else
            {
                throw new TorchBackendException($"libtorch_cpu.so not found in {string.Join(" or ", NativeDirs())}: this build has no CPU libtorch "
                    + "(build with -p:TorchBackend=cpu, or pass a libtorch directory / set MOE_LIBTORCH_DIR)");
            }
            LoadInOrder(dir, order, "a libtorch build");
            LoadOrThrow(sharp);
            libtorchLocation = dir;
        }
        try
        {
            torch.InitializeDeviceType(DeviceType.CPU);
        }
        catch (Exception e) when (e is not TorchBackendException)
        {
            throw new TorchBackendException($"TorchSharp CPU initialisation failed{(libtorchLocation is null ? "" : $" with libtorch from {libtorchLocation}")}: {FirstLine(e.Message)}", e);
        }
    }

    static void InitializeCuda(string? libtorchDir)
    {
        var dir = ResolveLibtorchDir(libtorchDir);
        LoadInOrder(dir, CudaLoadOrder, "a CUDA build of libtorch (PyTorch's torch/lib)");
        var sharp = FindBesideApp(TorchSharpNative)
            ?? throw new TorchBackendException($"{TorchSharpNative} not found in {string.Join(" or ", NativeDirs())}: publish with the TorchSharp package");
        CheckLibStdCxx(sharp);
        LoadOrThrow(sharp);
        try
        {
            torch.InitializeDeviceType(DeviceType.CUDA);
        }
        catch (Exception e) when (e is not TorchBackendException)
        {
            throw new TorchBackendException($"TorchSharp CUDA initialisation failed with libtorch from {dir}: {FirstLine(e.Message)}", e);
        }
        if (!torch.cuda.is_available())
            throw new TorchBackendException($"CUDA is not available with libtorch from {dir} (no GPU visible, or the driver is too old)");
        libtorchLocation = dir;
    }

    // Order: explicit argument, MOE_LIBTORCH_DIR, a CUDA libtorch beside the app (TorchBackend=cuda-package),
    // then the torch/lib folder of python3's PyTorch.
    static string ResolveLibtorchDir(string? argument)
    {
        if (ExplicitLibtorchDir(argument) is { } explicitDir) return explicitDir;
        if (FindBesideApp("libtorch_cuda.so") is { } packaged) return Path.GetDirectoryName(packaged)!;
        const string script = "import torch,os;print(os.path.join(os.path.dirname(torch.__file__),'lib'))";
        string problem;
        try
        {
            var info = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add(script);
            using var process = Process.Start(info) ?? throw new InvalidOperationException("python3 did not start");
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEnd().Trim();
            if (!process.WaitForExit(120_000)) process.Kill(true);
            if (process.HasExited && process.ExitCode == 0 && stdout.Length > 0) return ExistingDir(stdout, "python3's torch package");
            problem = OneLine(stderr.Result.Trim().Split('\n').LastOrDefault() ?? $"exit code {process.ExitCode}");
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            problem = OneLine(e.Message);
        }
        throw new TorchBackendException($"no CUDA libtorch found: pass --libtorch <dir> or set MOE_LIBTORCH_DIR (python3 -c 'import torch' failed: {problem})");
    }

    static string? ExplicitLibtorchDir(string? argument)
    {
        if (!string.IsNullOrWhiteSpace(argument)) return ExistingDir(argument, "the libtorch argument");
        var env = Environment.GetEnvironmentVariable("MOE_LIBTORCH_DIR");
        return string.IsNullOrWhiteSpace(env) ? null : ExistingDir(env, "MOE_LIBTORCH_DIR");
    }

    static void LoadInOrder(string dir, IEnumerable<string> names, string expected)
    {
        foreach (var name in names)
        {
            var path = Path.Combine(dir, name);
            if (!File.Exists(path)) throw new TorchBackendException($"{name} not found in {dir}: expected {expected}");
            LoadOrThrow(path);
        }
    }

    static void LoadOrThrow(string path)
    {
        if (ProbeLoad(path) is { } reason) throw new TorchBackendException($"cannot load {path}: {reason}");
    }

    static string ExistingDir(string dir, string source)
    {
        var full = Path.GetFullPath(dir.Trim());
        return Directory.Exists(full) ? full : throw new TorchBackendException($"libtorch directory {full} (from {source}) does not exist");
    }

    // Portable builds put native assets under runtimes/<rid>/native; RID-specific builds and publishes put them beside the app.
    static IEnumerable<string> NativeDirs()
    {
        var app = AppContext.BaseDirectory;
        yield return app;
        yield return Path.Combine(app, "runtimes", RuntimeInformation.RuntimeIdentifier, "native");
        if (RuntimeInformation.RuntimeIdentifier != "linux-x64") yield return Path.Combine(app, "runtimes", "linux-x64", "native");
    }

    static string? FindBesideApp(string name) => NativeDirs().Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    // .NET prefixes dlerror's text with a generic multi-line hint; keep the loader's own words.
    static string LoaderReason(Exception e)
    {
        var lines = e.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var specific = lines.Where(l => !l.StartsWith("Unable to load shared library", StringComparison.Ordinal)).ToList();
        return OneLine(string.Join("; ", specific.Count > 0 ? specific : lines.ToList()));
    }

    static string FirstLine(string text) => text.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0) ?? "";

    static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
