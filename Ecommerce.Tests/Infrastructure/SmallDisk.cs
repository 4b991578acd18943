using System.Diagnostics;

namespace Ecommerce.Tests.Infrastructure;

/// <summary>A tmpfs of a chosen size: a disk that fills up on demand and can be grown again, like a real one.</summary>
public sealed class SmallDisk : IDisposable
{
    public SmallDisk(int megabytes)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ecommerce-tests", $"disk-{Guid.NewGuid():N}"[..17]);
        Directory.CreateDirectory(Path);
        Run("mount", $"-t tmpfs -o size={megabytes}m tmpfs {Path}");
    }

    public string Path { get; }

    public void Resize(int megabytes) => Run("mount", $"-o remount,size={megabytes}m {Path}");

    public void Dispose()
    {
        Run("umount", $"-l {Path}");
        Directory.Delete(Path, recursive: true);
    }

    private static void Run(string command, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(command, arguments) { RedirectStandardError = true })!;
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{command} {arguments} failed: {process.StandardError.ReadToEnd()}");
        }
    }
}
