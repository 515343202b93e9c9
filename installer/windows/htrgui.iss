; Inno Setup 6 script of the Windows installer. Built by installer\build_windows.ps1, which passes
;   /DAppVersion=0.1.0 /DOutputBaseName=htrgui-0.1.0-windows-x64-cpu-setup /DRepo=<checkout>
; Installs per user by default (no administrator rights needed, as on most archive workstations); the
; dialog offers an all-users install to administrators.

#ifndef AppVersion
  #error AppVersion must be defined (/DAppVersion=...)
#endif
#ifndef Repo
  #define Repo "..\.."
#endif
#ifndef OutputBaseName
  #define OutputBaseName "htrgui-" + AppVersion + "-windows-x64-setup"
#endif

[Setup]
AppId={{6C2D5E8A-9F1B-4C57-A7E3-2B8F0D4C1A93}
AppName=htrgui
AppVersion={#AppVersion}
AppVerName=htrgui {#AppVersion}
AppPublisher=htrgui contributors
DefaultDirName={autopf}\htrgui
DefaultGroupName=htrgui
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#Repo}\dist
OutputBaseFilename={#OutputBaseName}
SetupIconFile={#Repo}\build\icons\htrgui.ico
UninstallDisplayIcon={app}\htrgui.exe
; torch is large: solid LZMA2 roughly halves the download
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ChangesEnvironment=yes

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"
Name: "addtopath"; Description: "Add the htrgui-cli command to PATH (for scripts)"; GroupDescription: "Command line:"; Flags: unchecked

[Files]
Source: "{#Repo}\dist\htrgui\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\htrgui"; Filename: "{app}\htrgui.exe"
Name: "{group}\htrgui doctor (check this computer)"; Filename: "{cmd}"; Parameters: "/k ""{app}\htrgui-cli.exe"" doctor"
Name: "{group}\Uninstall htrgui"; Filename: "{uninstallexe}"
Name: "{autodesktop}\htrgui"; Filename: "{app}\htrgui.exe"; Tasks: desktopicon

[Registry]
Root: HKCU; Subkey: "Environment"; ValueType: expandsz; ValueName: "Path"; ValueData: "{olddata};{app}"; Tasks: addtopath; Check: NeedsAddPath(ExpandConstant('{app}'))

[Run]
Filename: "{app}\htrgui.exe"; Description: "{cm:LaunchProgram,htrgui}"; Flags: nowait postinstall skipifsilent

[Code]
function NeedsAddPath(Dir: string): Boolean;
var
  Path: string;
begin
  if not RegQueryStringValue(HKCU, 'Environment', 'Path', Path) then
  begin
    Result := True;
    exit;
  end;
  Result := Pos(';' + Uppercase(Dir) + ';', ';' + Uppercase(Path) + ';') = 0;
end;
