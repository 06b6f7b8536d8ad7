fn main() {
    eprintln!("phash: not implemented yet");
    std::process::exit(2);
}
