// The benchmark arrives with the download (issue 3): it will compare bt-effect with aria2c on loopback.
console.log("bench: placeholder - there is no download to measure yet; nothing was run.")
