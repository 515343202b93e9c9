# Build the Windows release:
#   dist\htrgui-<version>-windows-x64-<variant>-setup.exe   (Inno Setup installer, per-user, no admin needed)
#   dist\htrgui-<version>-windows-x64-<variant>.zip         (portable folder: unzip and run htrgui.exe)
#
#   powershell -ExecutionPolicy Bypass -File installer\build_windows.ps1                  # CPU build, current python
#   powershell -ExecutionPolicy Bypass -File installer\build_windows.ps1 -Venv build\venv  # clean venv, CPU torch
#   powershell -ExecutionPolicy Bypass -File installer\build_windows.ps1 -Variant cuda -Venv build\venv-cuda
#
# Needs Python 3.10+ (64-bit) and, for the .exe installer, Inno Setup 6 (winget install JRSoftware.InnoSetup).
param(
    [ValidateSet("cpu", "cuda")] [string] $Variant = "cpu",
    [string] $Python = "python",
    [string] $Venv = "",
    [string] $TorchIndexUrl = ""
)
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..")

function Invoke-Checked {
    # Native programs do not raise on failure in PowerShell: check their exit code ourselves.
    $rest = if ($args.Count -gt 1) { $args[1..($args.Count - 1)] } else { @() }
    & $args[0] @rest
    if ($LASTEXITCODE -ne 0) { throw "build_windows: '$($args -join ' ')' failed with exit code $LASTEXITCODE" }
}

if ($Venv) {
    # A clean environment keeps whatever else is installed on the build machine out of the bundle.
    if (-not (Test-Path "$Venv\Scripts\python.exe")) { Invoke-Checked $Python -m venv $Venv }
    $Python = (Resolve-Path "$Venv\Scripts\python.exe").Path
    if (-not $TorchIndexUrl) {
        $TorchIndexUrl = if ($Variant -eq "cuda") { "https://download.pytorch.org/whl/cu126" } else { "https://download.pytorch.org/whl/cpu" }
    }
    Invoke-Checked $Python -m pip install -q --upgrade pip
    Invoke-Checked $Python -m pip install -q torch --index-url $TorchIndexUrl
    Invoke-Checked $Python -m pip install -q . -r installer\requirements-build.txt
}
& $Python -m PyInstaller --version *> $null
if ($LASTEXITCODE -ne 0) { Invoke-Checked $Python -m pip install -q -r installer\requirements-build.txt }

# A CPU build must not carry several GB of CUDA libraries, and a CUDA build needs a CUDA torch.
$check = @"
import sys, torch
variant, cuda = sys.argv[1], torch.version.cuda
if variant == 'cpu' and cuda: sys.exit(f'torch {torch.__version__} is a CUDA build: use -Variant cuda or a CPU torch')
if variant == 'cuda' and not cuda: sys.exit(f'torch {torch.__version__} has no CUDA: install a CUDA torch for -Variant cuda')
print(f'build_windows: torch {torch.__version__} (CUDA {cuda}) for the {variant} build')
"@
Invoke-Checked $Python -c $check $Variant

if (-not (Get-ChildItem models\*.pt -ErrorAction SilentlyContinue)) { Write-Warning "no models\*.pt: the build ships without a model" }
Invoke-Checked $Python installer\make_icons.py
$env:HTRGUI_VARIANT = $Variant
Invoke-Checked $Python -m PyInstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build\pyinstaller installer\htrgui.spec

$Name = & $Python -c "import sys; sys.path.insert(0, 'installer'); import bundle; print(bundle.artefact_name('$Variant'))"
$Version = & $Python -c "import sys; sys.path.insert(0, 'installer'); import bundle; print(bundle.app_version())"

# Smoke check of the frozen console program before packaging it.
Invoke-Checked dist\htrgui\htrgui-cli.exe --version

$Zip = "dist\$Name.zip"
if (Test-Path $Zip) { Remove-Item $Zip }
Compress-Archive -Path dist\htrgui -DestinationPath $Zip

$Iscc = @(
    (Get-Command ISCC.exe -ErrorAction SilentlyContinue).Source,
    "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe",
    "$env:ProgramFiles\Inno Setup 6\ISCC.exe",
    "$env:LOCALAPPDATA\Programs\Inno Setup 6\ISCC.exe"
) | Where-Object { $_ -and (Test-Path $_) } | Select-Object -First 1
if ($Iscc) {
    Invoke-Checked $Iscc /Qp "/DAppVersion=$Version" "/DOutputBaseName=$Name-setup" "/DRepo=$((Get-Location).Path)" installer\windows\htrgui.iss
    Get-FileHash "dist\$Name-setup.exe" -Algorithm SHA256 | ForEach-Object { "$($_.Hash.ToLower())  $Name-setup.exe" } | Set-Content "dist\$Name-setup.exe.sha256"
    Write-Host "build_windows: dist\$Name-setup.exe"
} else {
    Write-Warning "Inno Setup 6 not found: only the portable $Zip was made (winget install JRSoftware.InnoSetup)"
}
Get-FileHash $Zip -Algorithm SHA256 | ForEach-Object { "$($_.Hash.ToLower())  $Name.zip" } | Set-Content "$Zip.sha256"
Write-Host "build_windows: $Zip ($([math]::Round((Get-Item $Zip).Length / 1MB)) MB)"
